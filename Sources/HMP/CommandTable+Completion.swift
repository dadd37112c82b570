extension CommandTable {
    /// Completes the word before the cursor; `line` is the text from the start of the line up to the cursor.
    public func complete(_ line: String, source: any CompletionSource) -> Completion {
        fatalError("unimplemented")
    }
}
