use sutegi::routes;

struct Index {}

fn main() {
    let _app = routes![Index];
}
