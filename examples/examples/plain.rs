//! The server alone, without the router: one closure answers every request.
//! Shows what `sutegi::serve` takes at its smallest.

use sutegi::{Request, Response, Server};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::bind(addr)?;
    println!("listening on http://{}", server.local_addr()?);
    server.serve(|req: Request| match req.path() {
        "/stream" => Response::stream(|sink| {
            for i in 0..5 {
                sink.send(format!("chunk {i}\n").as_bytes())?;
            }
            Ok(())
        }),
        "/events" => Response::sse(|sink| {
            for i in 0..3 {
                sink.send(
                    &sutegi::SseEvent::new()
                        .event("tick")
                        .id(i.to_string())
                        .data(i.to_string()),
                )?;
            }
            Ok(())
        }),
        "/echo" => Response::with_body(200, req.body().to_vec()),
        "/panic" => panic!("panicked on purpose"),
        _ => Response::text("Hello, World!"),
    })
}
