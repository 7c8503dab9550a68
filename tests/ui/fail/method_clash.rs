// `merge` gets a method `merge_with` too, which the transition `merge_with` needs: the
// validator refuses the file, for the macro and for `check` alike.
workstream::workflow!(mod review = "tests/ui/fail/method_clash.yaml");

fn main() {}
