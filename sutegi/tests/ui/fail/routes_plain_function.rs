use sutegi::routes;

fn index() -> &'static str {
    "hi"
}

fn main() {
    let _ = index();
    let _app = routes![index];
}
