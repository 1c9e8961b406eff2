import XCTest
@testable import KezekDraw

final class LotteryNumberTests: XCTestCase {
    func testSHA256KnownVector() {
        XCTAssertEqual(
            SHA256.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testLotteryNumberIsDigestOfSeedColonHolder() {
        // printf 's:h' | sha256sum; printf 'seed42:a:1' | sha256sum
        XCTAssertEqual(
            LotteryNumber(seed: "s", holder: "h").hex,
            "5ba0a914eecdd431d1cec31658a9251bbbb2b5620b3526ba6950721050ed56b8")
        XCTAssertEqual(
            LotteryNumber(seed: "seed42", holder: "a:1").hex,
            "bc45a601a2f7003c4013662bb65b3cfe68118c020e4ee726684751ecd8f89357")
    }

    func testOrderIsBigEndianNumericOrder() {
        let small = LotteryNumber(high: 1, upper: .max, lower: .max, low: .max)
        let big = LotteryNumber(high: 2, upper: 0, lower: 0, low: 0)
        XCTAssertLessThan(small, big)
        XCTAssertLessThan(
            LotteryNumber(high: 1, upper: 1, lower: 1, low: 1),
            LotteryNumber(high: 1, upper: 1, lower: 1, low: 2))
        // The hex form sorts the same way as the numbers.
        let holders = (0..<200).map { "h\($0)" }
        let order = LotteryOrder.order(seed: "x", holders: holders)
        let hexes = order.map { LotteryNumber(seed: "x", holder: holders[Int($0)]).hex }
        XCTAssertEqual(hexes, hexes.sorted())
        XCTAssertEqual(Set(order).count, 200)
    }

    func testChoiceTokens() {
        XCTAssertEqual(RankedChoice.split("alm.k1")?.provider, "alm.k1")
        XCTAssertEqual(RankedChoice.split("alm.k1")?.level, 0)
        XCTAssertEqual(RankedChoice.split("alm.k1/3")?.level, 3)
        XCTAssertEqual(RankedChoice.split("alm.k1/9")?.provider, "alm.k1")
        for bad in ["alm.k1/0", "alm.k1/10", "alm.k1/", "/3", "", "a/b", "a/3/4"] {
            XCTAssertNil(RankedChoice.split(Substring(bad)), bad)
        }
        XCTAssertEqual(RankedChoice.token(provider: "p", level: 0), "p")
        XCTAssertEqual(RankedChoice.token(provider: "p", level: 2), "p/2")
    }
}
