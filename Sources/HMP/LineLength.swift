/// The longest line the parser reads. QEMU's readline keeps at most 4095 bytes and drops the rest silently; hmp
/// reads pipes and sockets whole, so it allows more (long file names, scripted option lists) but refuses, with a
/// message, lines long enough to be a mistake or an attack. Parsing and completion are linear, so the bound is
/// about memory and message size, not time.
public enum LineLength {
    public static let limit = 64 << 10
}
