import HMP
import Testing

@Suite struct ArgsTypeParserTests {
    @Test func emptyMeansNoArguments() throws {
        #expect(try ArgsTypeParser.parse("").isEmpty)
    }

    @Test func readsMigrate() throws {
        let specs = try ArgsTypeParser.parse("detach:-d,blk:-b,inc:-i,resume:-r,uri:s")
        #expect(specs.map(\.name) == ["detach", "blk", "inc", "resume", "uri"])
        #expect(specs[0] == ArgSpec(name: "detach", kind: .flag("d"), optional: true))
        #expect(specs[4] == ArgSpec(name: "uri", kind: .string, optional: false))
        #expect(specs.map(\.isFlag) == [true, true, true, true, false])
    }

    @Test func readsEveryLetter() throws {
        let specs = try ArgsTypeParser.parse("a:s,b:S,c:F,d:B,e:O,f:i,g:l,h:M,j:o,k:T,m:b,n:/,p:-ps")
        #expect(specs.map(\.kind) == [
            .string, .restOfLine, .filename, .blockDevice, .options, .int32, .long, .megabytes, .size, .seconds,
            .bool, .format, .flagWithValue("p"),
        ])
        #expect(specs.allSatisfy { $0.optional == $0.isFlag })
    }

    @Test func readsSuffixes() throws {
        let specs = try ArgsTypeParser.parse("name:s?,count:i?,index:i.")
        #expect(specs[0].optional && !specs[0].dotted)
        #expect(specs[1].optional)
        #expect(specs[2].optional && specs[2].dotted)
    }

    @Test(arguments: ["uri", "uri:", ":s", "uri:x", "uri:s!", "fmt:/?", "name:s.", "d:-", "d:-dx", "a:s,,b:s"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: ArgsTypeParser.Malformed.self) { try ArgsTypeParser.parse(text) }
    }
}
