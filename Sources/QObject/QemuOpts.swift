/// QemuOpts' splitting of `key=value,key=value` (util/qemu-option.c, get_opt_value): a single comma ends an
/// element, `,,` stands for a literal comma inside one. The one splitter for `-drive` and the monitor's `O`
/// arguments; what each element means is the caller's.
public enum QemuOpts {
    /// Every element in order, empty ones included (`a,,b,` is `a,b` and ``).
    public static func elements(of text: String) -> [String] {
        var elements: [String] = []
        var current = ""
        var characters = text.makeIterator()
        var pending = characters.next()
        while let c = pending {
            pending = characters.next()
            if c == "," {
                if pending == "," {
                    current.append(",")
                    pending = characters.next()
                } else {
                    elements.append(current)
                    current = ""
                }
            } else {
                current.append(c)
            }
        }
        elements.append(current)
        return elements
    }
}
