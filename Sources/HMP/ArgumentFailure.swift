/// Why one argument could not be read: QEMU's text, and whether flags typed out of QEMU's order could be the cause.
struct ArgumentFailure: Error {
    let message: String
    /// Set for `unsupported option` and `extraneous characters`, the two ways a misplaced flag shows up.
    var mayBeFlagOrder = false
}
