//! `sutegi-microbench`: the criterion benches in `benches/micro.rs`
//! (`cargo bench -p sutegi-microbench` from `bench/`) and the callgrind
//! regression guard's cases in `src/bin/callgrind.rs`. The library holds
//! only what both measure, so the two count the same bytes.

/// What Chromium sends for a same-origin `fetch`: 13 headers, ~430 bytes.
pub const BROWSER_REQUEST: &[u8] = b"GET /api/users/42?include=profile HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Accept: application/json, text/plain, */*\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: cors\r\n\
Sec-Fetch-Dest: empty\r\n\
Referer: http://localhost:8080/static/index.html\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\r\n";
