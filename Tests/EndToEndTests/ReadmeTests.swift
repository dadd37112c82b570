import Foundation
import Testing

/// The README is what a new user reads first: it must render (every code fence a line of its own, opened and
/// closed) and its examples must not leave files in the checkout.
@Suite struct ReadmeTests {
    static let readme: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("README.md").path
    }()

    @Test func fencesAreWholeLinesAndClosed() throws {
        let lines = try String(contentsOfFile: Self.readme, encoding: .utf8).components(separatedBy: "\n")
        var open: Int?
        for (index, line) in lines.enumerated() where line.contains("```") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            let number = index + 1
            #expect(trimmed.hasPrefix("```"), "README.md:\(number): a fence in the middle of a line: \(line)")
            if open == nil {
                let language = trimmed.dropFirst(3)
                #expect(language.allSatisfy { $0.isLetter || $0.isNumber }, "README.md:\(number): \(line)")
                open = number
            } else {
                #expect(trimmed == "```", "README.md:\(number): text after a closing fence renders the rest as code")
                open = nil
            }
        }
        #expect(open == nil, "README.md:\(open ?? 0): a fence is never closed")
    }

    @Test func examplesWriteUnderTmp() throws {
        let text = try String(contentsOfFile: Self.readme, encoding: .utf8)
        for line in text.components(separatedBy: "\n") {
            for piece in line.components(separatedBy: "pmemsave ").dropFirst() {
                let words = piece.split(separator: " ")
                guard words.count >= 3 else { continue }
                let file = words[2].trimmingCharacters(in: CharacterSet(charactersIn: "\"`,."))
                #expect(file.hasPrefix("/tmp/"), "pmemsave writes into the current directory: \(line)")
            }
        }
    }
}
