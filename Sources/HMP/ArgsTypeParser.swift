/// Reads an args_type string (`detach:-d,blk:-b,uri:s`) into argument specs.
public enum ArgsTypeParser {
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Malformed) -> [ArgSpec] {
        fatalError("unimplemented")
    }
}
