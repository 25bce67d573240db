//! What programs written against the documented API meet, one case per shape they take.

#[cfg(feature = "alloc-site")]
mod alloc_sites {
    use std::cell::RefCell;

    use rc_heap::{Gc, Trace};

    #[derive(Trace, Default)]
    struct Item {
        parts: RefCell<Vec<Gc<Item>>>,
    }

    /// Asserts that `object` was made on `line` of this file.
    fn made_on(object: &Gc<Item>, line: u32) {
        let site = Gc::alloc_site(object).expect("recorded");
        assert_eq!((site.file().rsplit(['/', '\\']).next(), site.line()), (Some("user_programs.rs"), line));
    }

    #[test]
    fn gc_from_a_value_records_the_callers_line() {
        let line = line!() + 1;
        let item: Gc<Item> = Gc::from(Item::default());
        made_on(&item, line);
    }

    #[test]
    fn gc_from_a_box_records_the_callers_line() {
        let line = line!() + 1;
        let item: Gc<Item> = Gc::from(Box::new(Item::default()));
        made_on(&item, line);
    }

    #[test]
    fn gc_default_records_the_callers_line() {
        let line = line!() + 1;
        let item: Gc<Item> = Gc::default();
        made_on(&item, line);
    }

    #[test]
    fn an_empty_gc_slice_records_the_callers_line() {
        let line = line!() + 1;
        let items: Gc<[Gc<Item>]> = Gc::default();
        let site = Gc::alloc_site(&items).expect("recorded");
        assert_eq!(site.line(), line);
    }
}
