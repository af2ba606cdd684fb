//! A reference reading of a chunked body, written apart from the codec's
//! state machine straight from the RFC 9112 §7.1 grammar, to check the
//! codec against: it must accept exactly the bodies this accepts, and
//! decode them to the same bytes.

fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn is_vchar_or_obs(byte: u8) -> bool {
    (0x21..=0x7E).contains(&byte) || byte >= 0x80
}

/// A cursor over the body bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let matched = self.peek() == Some(byte);
        self.at += usize::from(matched);
        matched
    }

    fn eat_while(&mut self, keep: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        self.at - start
    }

    fn bws(&mut self) {
        self.eat_while(|b| b == b' ' || b == b'\t');
    }

    /// Takes CRLF, or nothing if the next two bytes are not CRLF.
    fn crlf(&mut self) -> Option<()> {
        let found = self.bytes.get(self.at..self.at + 2) == Some(b"\r\n");
        self.at += if found { 2 } else { 0 };
        found.then_some(())
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`, the
    /// opening quote already taken.
    fn quoted_rest(&mut self) -> Option<()> {
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = self.peek()?;
                    if !(escaped == b'\t' || escaped == b' ' || is_vchar_or_obs(escaped)) {
                        return None;
                    }
                    self.at += 1;
                }
                b'\t' | b' ' => self.at += 1,
                b if is_vchar_or_obs(b) => self.at += 1,
                _ => return None,
            }
        }
    }

    /// `chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )`.
    fn extensions(&mut self) -> Option<()> {
        loop {
            let before = self.at;
            self.bws();
            if !self.eat(b';') {
                self.at = before;
                return Some(());
            }
            self.bws();
            if self.eat_while(is_token) == 0 {
                return None;
            }
            let after_name = self.at;
            self.bws();
            if !self.eat(b'=') {
                self.at = after_name;
                continue;
            }
            self.bws();
            if self.eat(b'"') {
                self.quoted_rest()?;
            } else if self.eat_while(is_token) == 0 {
                return None;
            }
        }
    }
}

/// Reads a complete chunked body at the start of `bytes`: the decoded body
/// and how many bytes it took, or `None` if the bytes are not one (broken,
/// or cut short). Chunk sizes of more than 16 hex digits are refused, as
/// the codec does; its bounds on line and trailer lengths are not modelled,
/// so callers compare only inputs too short to reach them.
pub fn reference_chunked(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut cursor = Cursor { bytes, at: 0 };
    let mut body = Vec::new();
    loop {
        let start = cursor.at;
        let digits = cursor.eat_while(|b| b.is_ascii_hexdigit());
        if digits == 0 || digits > 16 {
            return None;
        }
        let text = std::str::from_utf8(&bytes[start..cursor.at]).ok()?;
        let size = u64::from_str_radix(text, 16).ok()?;
        cursor.extensions()?;
        cursor.crlf()?;
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).ok()?;
        let data = bytes.get(cursor.at..cursor.at.checked_add(size)?)?;
        body.extend_from_slice(data);
        cursor.at += size;
        cursor.crlf()?;
    }
    // trailer-section = *( field-line CRLF ), then the final CRLF.
    loop {
        if cursor.crlf().is_some() {
            return Some((body, cursor.at));
        }
        if cursor.eat_while(is_token) == 0 || !cursor.eat(b':') {
            return None;
        }
        cursor.eat_while(|b| b == b'\t' || b == b' ' || is_vchar_or_obs(b));
        cursor.crlf()?;
    }
}

#[cfg(test)]
mod tests {
    use super::reference_chunked;

    #[test]
    fn the_reference_reads_the_grammar() {
        let ok = |bytes: &[u8]| reference_chunked(bytes).map(|(body, _)| body);
        assert_eq!(
            ok(b"5 ; a = \"x\\\"\"\r\nhello\r\n0\r\nT: v\r\n\r\nrest"),
            Some(b"hello".to_vec())
        );
        assert_eq!(
            reference_chunked(b"0\r\n\r\nGET").map(|(_, used)| used),
            Some(5)
        );
        for bad in [
            &b"5 \r\nhello\r\n0\r\n\r\n"[..],
            b"5;\r\n",
            b"5;a=\r\n",
            b"0\r\nX\r\n\r\n",
            b"0\r\n\r",
            b"0\r\n\rX: y\r\n\r\n",
        ] {
            assert_eq!(ok(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
