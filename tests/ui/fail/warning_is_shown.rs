// A file's warnings show at compile time, on the path: the role `auditor` is never used. (The
// mismatched type below makes the case fail, so that its output is compared.)
workstream::workflow!(mod review = "tests/ui/fail/warning_is_shown.yaml");

fn main() {
    let _: () = review::NAME;
}
