//! The built-in renderer's pictures, checked on their coordinates: a self-reference is a loop
//! whose ends sit on its node's box, the picture is the size of the drawing, every line of a
//! label fits its box, and the fonts named have CJK fallbacks.
//!
//! (`report_browser.rs` looks at the same pictures in Chromium, with real fonts.)

use std::cell::RefCell;
use std::collections::BTreeMap;

use cyclegc::{Gc, GcAny, Trace, Weak};
use objgraph::{Graph, GraphOptions, Renderer};

#[derive(Trace)]
#[trace(describe = Node::describe)]
struct Node {
    text: String,
    next: RefCell<Vec<Gc<Node>>>,
}

impl Node {
    fn describe(&self) -> String {
        self.text.clone()
    }
}

fn node(text: &str) -> Gc<Node> {
    Gc::new(Node { text: text.to_owned(), next: RefCell::new(Vec::new()) })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.next.borrow_mut().push(to.clone());
}

/// Breaks the references of `nodes` so that the test leaves no cycle behind.
fn unlink(nodes: &[&Gc<Node>]) {
    for node in nodes {
        node.next.borrow_mut().clear();
    }
}

/// The article's connection, whose handlers are bound to it: `Connection.msg_handlers`.
#[derive(Trace)]
struct Connection {
    msg_handlers: RefCell<BTreeMap<&'static str, Handler>>,
}

#[derive(Trace)]
enum Handler {
    Bound(Gc<Connection>),
    #[allow(dead_code)]
    WeaklyBound(Weak<Connection>),
}

/// OrderedDict's root: `root.prev = root.next = root`.
#[derive(Trace)]
struct Link {
    prev: RefCell<Option<Gc<Link>>>,
    next: RefCell<Option<Gc<Link>>>,
}

fn builtin(graph: &Graph) -> Picture {
    Picture::parse(&graph.render_svg(Renderer::Builtin).expect("the built-in renderer draws every graph"))
}

#[test]
fn connection_msg_handlers_is_a_loop_on_the_connection() {
    let conn = Gc::new(Connection { msg_handlers: RefCell::new(BTreeMap::new()) });
    for msg in ["login", "logout"] {
        conn.msg_handlers.borrow_mut().insert(msg, Handler::Bound(conn.clone()));
    }
    let picture = builtin(&objgraph::show_refs(&[Gc::to_any(&conn)], &GraphOptions::default()));
    let connection = picture.node_box(0);
    let self_loop = picture.self_loop(0);
    assert!(connection.has_on_border(self_loop.start), "the loop starts on the box: {self_loop:?} {connection:?}");
    assert!(connection.has_on_border(self_loop.end), "the loop ends on the box: {self_loop:?} {connection:?}");
    assert!(self_loop.marker_end, "an arrowhead at the loop's end");
    // The curve leaves the box: it is a loop, not a tick on the border.
    let outermost = self_loop
        .points
        .iter()
        .copied()
        .max_by(|a, b| connection.distance_outside(*a).total_cmp(&connection.distance_outside(*b)))
        .unwrap();
    let reach = connection.distance_outside(outermost);
    assert!(reach > 15.0, "the loop reaches {reach} px out of the box");
    // Its label is next to it, not somewhere else in the picture.
    let label = picture.edge_label_containing("msg_handlers[\"login\"].Bound.0");
    let label_x = label.lines[0].0.0;
    assert!((label_x - outermost.0).abs() < 20.0, "label at x = {label_x}, loop out to {outermost:?}");
    assert!((label.middle_y() - connection.middle().1).abs() < connection.h, "label beside the loop");
    conn.msg_handlers.borrow_mut().clear();
}

#[test]
fn ordered_dict_root_is_a_loop_on_the_root() {
    let root = Gc::new(Link { prev: RefCell::new(None), next: RefCell::new(None) });
    *root.prev.borrow_mut() = Some(root.clone());
    *root.next.borrow_mut() = Some(root.clone());
    let picture = builtin(&objgraph::show_refs(&[Gc::to_any(&root)], &GraphOptions::default()));
    let root_box = picture.node_box(0);
    let self_loop = picture.self_loop(0);
    assert!(root_box.has_on_border(self_loop.start) && root_box.has_on_border(self_loop.end), "{self_loop:?}");
    assert_eq!(picture.edge_label_containing("prev, next").lines.len(), 1);
    assert_eq!(picture.paths.len(), 1, "the self-reference is the only edge, drawn once");
    root.prev.borrow_mut().take();
    root.next.borrow_mut().take();
}

#[test]
fn a_self_loop_sits_on_its_own_node_among_others() {
    let (a, b, c) = (node("a"), node("b"), node("c"));
    link(&a, &b);
    link(&a, &c);
    link(&b, &b);
    link(&c, &a);
    let graph = objgraph::show_refs(&[Gc::to_any(&a)], &GraphOptions::default());
    let picture = builtin(&graph);
    let b_index = graph.labels().iter().position(|label| label.starts_with("Node\nb")).expect("b is drawn");
    let b_box = picture.node_box(b_index);
    let self_loop = picture.self_loop(b_index);
    assert!(b_box.has_on_border(self_loop.start) && b_box.has_on_border(self_loop.end), "{self_loop:?} {b_box:?}");
    for (i, other) in picture.boxes() {
        if i != b_index {
            assert!(self_loop.points.iter().all(|&p| !other.contains(p)), "the loop crosses node {i}");
        }
    }
    unlink(&[&a, &b, &c]);
}

/// A session and its items refer to each other (2-cycles with labels both ways): layout-rs
/// may push a label holder into the box of the item the edge points at.
#[test]
fn edges_never_run_through_a_box() {
    #[derive(Trace)]
    struct Session {
        items: RefCell<Vec<Gc<Item>>>,
    }
    #[derive(Trace)]
    struct Item {
        session: Gc<Session>,
    }
    let session = Gc::new(Session { items: RefCell::new(Vec::new()) });
    for _ in 0..4 {
        let item = Gc::new(Item { session: session.clone() });
        session.items.borrow_mut().push(item);
    }
    let first_item = Gc::to_any(&session.items.borrow()[0]);
    let (a, b, c) = (node("a"), node("b"), node("c"));
    link(&a, &b);
    link(&b, &a);
    link(&a, &c);
    link(&c, &c);
    let graphs = [
        objgraph::show_refs(std::slice::from_ref(&first_item), &GraphOptions::default()),
        objgraph::show_backrefs(std::slice::from_ref(&first_item), &GraphOptions::default()),
        objgraph::show_refs(&[Gc::to_any(&a)], &GraphOptions::default()),
    ];
    for graph in &graphs {
        let picture = builtin(graph);
        for path in &picture.paths {
            for (i, node_box) in picture.boxes() {
                let inner = Rect { x: node_box.x + 1.5, y: node_box.y + 1.5, w: node_box.w - 3.0, h: node_box.h - 3.0 };
                let through = path.points.iter().find(|&&point| inner.contains(point));
                assert!(through.is_none(), "an edge runs through node {i}'s box {node_box:?} at {through:?}: {path:?}");
            }
        }
    }
    drop(first_item);
    session.items.borrow_mut().clear();
    unlink(&[&a, &b, &c]);
}

#[test]
fn the_picture_is_the_size_of_the_drawing() {
    let (a, b, c, d) = (node("a"), node("b"), node("c"), node("a rather longer description"));
    link(&a, &b);
    link(&b, &c);
    link(&c, &a);
    link(&c, &c);
    link(&d, &a);
    let graphs = [
        objgraph::show_refs(&[Gc::to_any(&a)], &GraphOptions::default()),
        objgraph::show_backrefs(&[Gc::to_any(&a)], &GraphOptions::default()),
        objgraph::show_refs(&[Gc::to_any(&d)], &GraphOptions { too_many: 1, ..Default::default() }),
    ];
    for graph in &graphs {
        let picture = builtin(graph);
        let [left, top, width, height] = picture.view_box;
        assert_eq!((picture.width, picture.height), (width, height), "one user unit is one pixel");
        let (inner, outer) = picture.extent();
        // Everything drawn is inside the picture...
        assert!(left <= inner.0 && top <= inner.1, "{:?} starts before {inner:?}", picture.view_box);
        assert!(left + width >= inner.2 && top + height >= inner.3, "{:?} ends before {inner:?}", picture.view_box);
        // ...and the picture is no larger than the drawing and a few pixels of margin.
        let slack = 6.0;
        assert!(left >= outer.0 - slack && top >= outer.1 - slack, "{:?} vs {outer:?}", picture.view_box);
        assert!(left + width <= outer.2 + slack, "{:?} is wider than {outer:?}", picture.view_box);
        assert!(top + height <= outer.3 + slack, "{:?} is taller than {outer:?}", picture.view_box);
    }
    unlink(&[&a, &b, &c, &d]);
}

#[test]
fn long_label_lines_are_wrapped_and_fit_their_boxes() {
    let long = "a description that goes on, and on, and on, well past what one line of a box should hold";
    let (a, b) = (node("a"), node("b"));
    link(&a, &b);
    let extra_info =
        |_: &GcAny| format!("{long}\nalloc::collections::btree::map::BTreeMap<alloc::string::String, app::Node>");
    let options = GraphOptions { shortnames: false, extra_info: Some(&extra_info), ..Default::default() };
    let graph = objgraph::show_refs(&[Gc::to_any(&a)], &options);
    let picture = builtin(&graph);
    let label_lines = graph.labels()[0].lines().count();
    let drawn_lines = picture.node_text(0).lines.len();
    assert!(drawn_lines > label_lines, "long lines are wrapped: {drawn_lines} lines for {label_lines}");
    let joined: String = picture.node_text(0).lines.iter().map(|(_, line)| line.as_str()).collect::<Vec<_>>().join(" ");
    assert!(joined.contains("well past what one line"), "{joined}");
    assert_lines_fit_boxes(&picture);
    assert!(picture.node_box(0).w < 460.0, "the box is {} wide", picture.node_box(0).w);
    unlink(&[&a, &b]);
}

#[test]
fn chinese_labels_fit_and_the_fonts_have_cjk_fallbacks() {
    let (a, b) = (node("缓存中的对象：引用计数为零时立即释放"), node("循环引用"));
    link(&a, &b);
    let picture = builtin(&objgraph::show_refs(&[Gc::to_any(&a)], &GraphOptions::default()));
    for font in ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "sans-serif"] {
        assert!(picture.font_family.contains(font), "{font} in {}", picture.font_family);
    }
    assert!(picture.node_text(0).lines.iter().any(|(_, line)| line.contains("引用计数")));
    assert_lines_fit_boxes(&picture);
    unlink(&[&a, &b]);
}

#[test]
fn labels_are_escaped() {
    let a = node("<b> & \"quotes\" 'too'");
    let svg = objgraph::show_refs(&[Gc::to_any(&a)], &GraphOptions::default()).render_svg(Renderer::Builtin).unwrap();
    assert!(svg.contains("&lt;b&gt; &amp; &quot;quotes&quot; &#39;too&#39;"), "{svg}");
    assert_eq!(Picture::parse(&svg).node_text(0).lines[1].1, "<b> & \"quotes\" 'too'");
}

/// Every line of every node's label, at a Latin average of 0.55 em a character and a full
/// em for CJK, fits inside its box.
fn assert_lines_fit_boxes(picture: &Picture) {
    for (i, rect) in picture.boxes() {
        for ((x, y), line) in &picture.node_text(i).lines {
            let width = estimated_width(line, picture.node_text(i).font_size);
            assert!(
                x - width / 2.0 >= rect.x && x + width / 2.0 <= rect.x + rect.w,
                "{line:?} ({width} px) overflows node {i}'s box {rect:?}"
            );
            assert!(rect.contains((*x, *y)), "{line:?} is outside node {i}'s box");
        }
    }
}

fn estimated_width(line: &str, font_size: f64) -> f64 {
    line.chars().map(|c| if c.is_ascii() { 0.55 } else { 1.0 }).sum::<f64>() * font_size
}

// ----------------------------------------------------------------------------------------
// A reader for the SVG the built-in renderer writes: the elements it uses, their
// attributes, and the curves of its paths.

type Point = (f64, f64);

/// `(left, top, right, bottom)`.
type Bounds = (f64, f64, f64, f64);

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn contains(&self, (x, y): Point) -> bool {
        x >= self.x && x <= self.x + self.w && y >= self.y && y <= self.y + self.h
    }

    fn middle(&self) -> Point {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Within half a pixel of the border.
    fn has_on_border(&self, (x, y): Point) -> bool {
        let near = |a: f64, b: f64| (a - b).abs() < 0.5;
        let within_x = x >= self.x - 0.5 && x <= self.x + self.w + 0.5;
        let within_y = y >= self.y - 0.5 && y <= self.y + self.h + 0.5;
        (within_y && (near(x, self.x) || near(x, self.x + self.w)))
            || (within_x && (near(y, self.y) || near(y, self.y + self.h)))
    }

    fn distance_outside(&self, (x, y): Point) -> f64 {
        let dx = (self.x - x).max(x - self.x - self.w).max(0.0);
        let dy = (self.y - y).max(y - self.y - self.h).max(0.0);
        dx.hypot(dy)
    }
}

#[derive(Debug)]
struct Text {
    node: Option<usize>,
    class: String,
    anchor: String,
    font_size: f64,
    lines: Vec<(Point, String)>,
}

impl Text {
    fn middle_y(&self) -> f64 {
        self.lines.iter().map(|((_, y), _)| y).sum::<f64>() / self.lines.len() as f64
    }

    /// The box of the text if its characters were `per_char` ems wide (wide ones a full em).
    fn extent(&self, per_char: f64) -> Bounds {
        let mut extent = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for ((x, y), line) in &self.lines {
            let width: f64 =
                line.chars().map(|c| if c.is_ascii() { per_char } else { 1.0 }).sum::<f64>() * self.font_size;
            let left = match self.anchor.as_str() {
                "start" => *x,
                "end" => x - width,
                _ => x - width / 2.0,
            };
            let half = self.font_size * 0.6;
            extent = (extent.0.min(left), extent.1.min(y - half), extent.2.max(left + width), extent.3.max(y + half));
        }
        extent
    }
}

#[derive(Debug)]
struct Path {
    node: Option<usize>,
    class: String,
    start: Point,
    end: Point,
    marker_end: bool,
    /// Points along the curve, a few pixels apart.
    points: Vec<Point>,
}

#[derive(Debug)]
struct Picture {
    width: f64,
    height: f64,
    view_box: [f64; 4],
    font_family: String,
    rects: Vec<(Option<usize>, Rect)>,
    ellipses: Vec<Rect>,
    texts: Vec<Text>,
    paths: Vec<Path>,
}

impl Picture {
    fn parse(svg: &str) -> Picture {
        let mut picture = Picture {
            width: 0.0,
            height: 0.0,
            view_box: [0.0; 4],
            font_family: String::new(),
            rects: Vec::new(),
            ellipses: Vec::new(),
            texts: Vec::new(),
            paths: Vec::new(),
        };
        let mut group: Option<usize> = None;
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            rest = &rest[open + 1..];
            let close = rest.find('>').expect("every tag closes");
            let tag = &rest[..close];
            let name = tag.split([' ', '/']).next().unwrap_or_default();
            let attrs = attributes(tag);
            let number = |key: &str| attrs.get(key).map(|v| v.parse::<f64>().expect("a number")).unwrap_or_default();
            match name {
                "svg" => {
                    picture.width = number("width");
                    picture.height = number("height");
                    let view_box: Vec<f64> = attrs["viewBox"].split(' ').map(|v| v.parse().unwrap()).collect();
                    picture.view_box = view_box.try_into().unwrap();
                    picture.font_family = attrs["font-family"].clone();
                }
                "g" => group = attrs.get("data-node").map(|v| v.parse().unwrap()),
                "/g" => group = None,
                "rect" => picture
                    .rects
                    .push((group, Rect { x: number("x"), y: number("y"), w: number("width"), h: number("height") })),
                "ellipse" => {
                    let (rx, ry) = (number("rx"), number("ry"));
                    picture.ellipses.push(Rect {
                        x: number("cx") - rx,
                        y: number("cy") - ry,
                        w: 2.0 * rx,
                        h: 2.0 * ry,
                    });
                }
                "text" => {
                    let body_end = rest.find("</text>").expect("text closes");
                    let body = &rest[close + 1..body_end];
                    let lines = body
                        .split("<tspan ")
                        .skip(1)
                        .map(|tspan| {
                            let (tag, content) = tspan.split_once('>').unwrap();
                            let attrs = attributes(tag);
                            let point = (attrs["x"].parse().unwrap(), attrs["y"].parse().unwrap());
                            (point, unescape(content.trim_end_matches("</tspan>")))
                        })
                        .collect();
                    picture.texts.push(Text {
                        node: group,
                        class: attrs["class"].clone(),
                        anchor: attrs["text-anchor"].clone(),
                        font_size: number("font-size"),
                        lines,
                    });
                    rest = &rest[body_end..];
                    continue;
                }
                "path" if attrs.contains_key("class") => {
                    let (start, points) = curve(&attrs["d"]);
                    picture.paths.push(Path {
                        node: attrs.get("data-node").map(|v| v.parse().unwrap()),
                        class: attrs["class"].clone(),
                        start,
                        end: *points.last().unwrap(),
                        marker_end: attrs.contains_key("marker-end"),
                        points,
                    });
                }
                _ => {}
            }
            rest = &rest[close + 1..];
        }
        picture
    }

    fn boxes(&self) -> impl Iterator<Item = (usize, Rect)> + '_ {
        self.rects.iter().filter_map(|(node, rect)| Some(((*node)?, *rect)))
    }

    fn node_box(&self, i: usize) -> Rect {
        self.boxes().find(|(node, _)| *node == i).map(|(_, rect)| rect).unwrap_or_else(|| panic!("no box for node {i}"))
    }

    fn node_text(&self, i: usize) -> &Text {
        self.texts.iter().find(|text| text.node == Some(i) && text.class == "label").expect("every node has a label")
    }

    fn self_loop(&self, i: usize) -> &Path {
        let loops: Vec<&Path> =
            self.paths.iter().filter(|path| path.class.contains("self-loop") && path.node == Some(i)).collect();
        assert_eq!(loops.len(), 1, "one self-loop on node {i}: {:?}", self.paths);
        loops[0]
    }

    fn edge_label_containing(&self, needle: &str) -> &Text {
        self.texts
            .iter()
            .find(|text| text.class == "edge-label" && text.lines.iter().any(|(_, line)| line.contains(needle)))
            .unwrap_or_else(|| panic!("no edge label with {needle}: {:?}", self.texts))
    }

    /// The drawing's bounds as `(left, top, right, bottom)` twice: with text as narrow as
    /// it can be (0.3 em a character) and as wide (1 em): the picture must hold the first
    /// and may not be much larger than the second.
    fn extent(&self) -> (Bounds, Bounds) {
        let mut shapes: Bounds = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
        let cover = |extent: &mut Bounds, (l, t, r, b): Bounds| {
            *extent = (extent.0.min(l), extent.1.min(t), extent.2.max(r), extent.3.max(b));
        };
        for rect in self.rects.iter().map(|(_, rect)| rect).chain(&self.ellipses) {
            cover(&mut shapes, (rect.x, rect.y, rect.x + rect.w, rect.y + rect.h));
        }
        for path in &self.paths {
            for &(x, y) in &path.points {
                cover(&mut shapes, (x, y, x, y));
            }
        }
        let (mut narrow, mut wide) = (shapes, shapes);
        for text in &self.texts {
            cover(&mut narrow, text.extent(0.3));
            cover(&mut wide, text.extent(1.0));
        }
        (narrow, wide)
    }
}

/// The attributes of a tag's text (`rect x="1" ...`).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].rsplit(' ').next().unwrap_or_default().to_owned();
        let value_start = eq + 2;
        let value_end = value_start + rest[value_start..].find('"').expect("attribute values close");
        attrs.insert(key, unescape(&rest[value_start..value_end]));
        rest = &rest[value_end + 1..];
    }
    attrs
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// The start of a path of `M x y C x y x y x y ...` and points along its curves.
fn curve(d: &str) -> (Point, Vec<Point>) {
    let numbers: Vec<f64> = d.split([' ', ',']).filter_map(|token| token.parse().ok()).collect();
    assert!(d.starts_with("M ") && numbers.len() % 6 == 2, "a path of cubic curves: {d}");
    let start = (numbers[0], numbers[1]);
    let mut points = vec![start];
    let mut from = start;
    for segment in numbers[2..].chunks(6) {
        let [c1x, c1y, c2x, c2y, x, y] = segment.try_into().unwrap();
        for step in 1..=32 {
            let t = f64::from(step) / 32.0;
            let u = 1.0 - t;
            let (w0, w1, w2, w3) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            points.push((w0 * from.0 + w1 * c1x + w2 * c2x + w3 * x, w0 * from.1 + w1 * c1y + w2 * c2y + w3 * y));
        }
        from = (x, y);
    }
    (start, points)
}

#[test]
fn an_empty_graph_is_an_empty_picture() {
    let graph = objgraph::show_refs(&[], &GraphOptions::default());
    assert_eq!(graph.node_count(), 0);
    let svg = graph.render_svg(Renderer::Builtin).expect("an empty graph draws");
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    let chain = objgraph::show_chain(&[], true, &GraphOptions::default());
    assert!(chain.render_svg(Renderer::Builtin).is_ok());
}

/// A graph whose layout would take layout-rs minutes (a tree with references crossing many
/// layers) is refused at once, with what to do instead; a tree of a couple of hundred objects
/// is drawn.
#[test]
fn a_graph_too_large_to_lay_out_is_refused_at_once_and_a_large_tree_drawn() {
    let tree = |count: usize| {
        let nodes: Vec<Gc<Node>> = (0..count).map(|i| node(&format!("n{i}"))).collect();
        for i in 1..nodes.len() {
            link(&nodes[(i - 1) / 2], &nodes[i]);
        }
        nodes
    };
    let options = GraphOptions { max_depth: 100, too_many: 1_000, ..Default::default() };
    if !cfg!(miri) {
        let nodes = tree(200);
        let graph = objgraph::show_refs(&[Gc::to_any(&nodes[0])], &options);
        assert!(graph.render_svg(Renderer::Builtin).is_ok(), "a tree of 200 objects draws");
    }
    let nodes = tree(400);
    for i in 1..nodes.len() {
        link(&nodes[i], &nodes[(i * 7_919) % nodes.len()]);
    }
    let tangle = objgraph::show_refs(&[Gc::to_any(&nodes[0])], &options);
    let started = std::time::Instant::now();
    let error = tangle.render_svg(Renderer::Builtin).expect_err("too large for the built-in renderer");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused without laying it out");
    let message = error.to_string();
    assert!(message.contains("too large for the built-in renderer") && message.contains("Graphviz"), "{message}");
    let refs: Vec<&Gc<Node>> = nodes.iter().collect();
    unlink(&refs);
}
