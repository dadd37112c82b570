@testable import Monitor
import Testing

/// The layout's rule on parts of made-up text: essentials always, the detail next, then the essentials' longer
/// renderings, then the rest; the order on the line never changes.
@Suite struct StatusLineLayoutTests {
    func layout() -> StatusLineLayout {
        var layout = StatusLineLayout()
        layout.add(0, "AAAA long", "AAAA")
        layout.add(5, "keys")
        layout.add(2, "advice in full", "advice")
        layout.add(0, "BB")
        return layout
    }

    @Test func whatStaysAsTheWidthShrinks() {
        #expect(layout().render(width: 100) == "AAAA long · keys · advice in full · BB")
        #expect(layout().render(width: 35) == "AAAA long · advice in full · BB")
        #expect(layout().render(width: 30) == "AAAA · advice in full · BB")
        #expect(layout().render(width: 20) == "AAAA · advice · BB")
        #expect(layout().render(width: 9) == "AAAA · BB")
        // Even the essentials are cut, never dropped, when nothing else fits.
        #expect(layout().render(width: 5) == "AAAA ")
        #expect(layout().render(width: 0) == "")
    }

    @Test func emptyRenderingsAreLeftOut() {
        var layout = StatusLineLayout()
        layout.add(1, "")
        layout.add(0, "x")
        #expect(layout.render(width: 10) == "x")
    }
}
