import XCTest
import KezekTestSupport

/// BOOK, BOOK WAIT, CANCEL, STATUS, SEATS and PROVIDER, reply by reply, as PROTOCOL.md's
/// command table states them.
final class ConformanceBookingTests: IntegrationTestCase {
    func testBookAnswersBookedWithSeatsLeft() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 3", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 2")
        try expect(client, "BOOK room h2", "+BOOKED 1")
        try expect(client, "SEATS room", "+SEATS capacity=3 booked=2 free=1 waiting=0 refused=0")
    }

    func testBookRetryIsIdempotent() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 3", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 2")
        try expect(client, "BOOK room h1", "+BOOKED 2")
        try expect(client, "BOOK room h1", "+BOOKED 2")
        try expect(client, "SEATS room", "+SEATS capacity=3 booked=1 free=2 waiting=0 refused=0")
        // A retry from another connection answers the same.
        try expect(try connect(), "BOOK room h1", "+BOOKED 2")
    }

    func testBookRetryOnFullProviderStillAnswersBooked() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room h1 WAIT", "+BOOKED 0")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=0")
    }

    func testFullCountsRefused() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room h2", "+FULL room")
        try expect(client, "BOOK room h3", "+FULL room")
        try expect(client, "BOOK room h2", "+FULL room")
        try expect(client, "STATUS room h2", "+NONE")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=3")
    }

    func testBookWaitPositions() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        // With a free seat, WAIT books at once.
        try expect(client, "BOOK room h1 WAIT", "+BOOKED 0")
        try expect(client, "BOOK room w1 WAIT", "+WAITING 1")
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "BOOK room w3 wait", "+WAITING 3")
        // Asking again answers the current position, without queueing twice.
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "BOOK room w1 WAIT", "+WAITING 1")
        try expect(client, "STATUS room w3", "+WAITING 3")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=3 refused=0")
        // A waiter's plain BOOK (the contract does not say whether it answers FULL or the
        // position) does not lose its place.
        let plain = try client.request("BOOK room w2")
        XCTAssertTrue(
            ["+FULL room", "+WAITING 2"].contains(plain), "BOOK room w2 answered \(plain)")
        try expect(client, "STATUS room w2", "+WAITING 2")
        // Cancelling a waitlist place moves the ones behind it up.
        try expect(client, "CANCEL room w1", "+CANCELLED 0")
        try expect(client, "STATUS room w1", "+NONE")
        try expect(client, "STATUS room w2", "+WAITING 1")
        try expect(client, "BOOK room w3 WAIT", "+WAITING 2")
        try expect(client, "STATUS room h1", "+BOOKED")
    }

    func testWaitlistFullAnswersFull() throws {
        try startStack(["--waitlist-limit", "2"])
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room w1 WAIT", "+WAITING 1")
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "BOOK room w3 WAIT", "+FULL room")
        try expect(client, "STATUS room w3", "+NONE")
        // Waiters already in line still get their position.
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=2 refused=1")
    }

    func testCancelPromotesWaitlistHead() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room w1 WAIT", "+WAITING 1")
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "CANCEL room h1", "+CANCELLED 0")
        try expect(client, "STATUS room h1", "+NONE")
        try expect(client, "STATUS room w1", "+BOOKED")
        try expect(client, "STATUS room w2", "+WAITING 1")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=1 refused=0")
        // The promoted holder's retry answers BOOKED.
        try expect(client, "BOOK room w1", "+BOOKED 0")
        try expect(client, "CANCEL room w1", "+CANCELLED 0")
        try expect(client, "STATUS room w2", "+BOOKED")
        try expect(client, "CANCEL room w2", "+CANCELLED 1")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=0 free=1 waiting=0 refused=0")
    }

    func testCancelFreesSeatAndNotFound() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 2", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 1")
        try expect(client, "CANCEL room h1", "+CANCELLED 2")
        try expect(client, "CANCEL room h1", "+NOTFOUND h1")
        try expect(client, "CANCEL room nobody", "+NOTFOUND nobody")
        try expect(client, "STATUS room h1", "+NONE")
        try expect(client, "BOOK room h1", "+BOOKED 1")
        try expect(client, "SEATS room", "+SEATS capacity=2 booked=1 free=1 waiting=0 refused=0")
    }

    func testStatusAnswers() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "STATUS room h1", "+NONE")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "STATUS room h1", "+BOOKED")
        try expect(client, "BOOK room h2 WAIT", "+WAITING 1")
        try expect(client, "STATUS room h2", "+WAITING 1")
    }

    func testNoProvider() throws {
        try startStack()
        let client = try connect()
        try expect(client, "BOOK nowhere h1", "-NOPROVIDER nowhere")
        try expect(client, "BOOK nowhere h1 WAIT", "-NOPROVIDER nowhere")
        try expect(client, "CANCEL nowhere h1", prefix: "-NOPROVIDER")
        try expect(client, "STATUS nowhere h1", prefix: "-NOPROVIDER")
        try expect(client, "SEATS nowhere", prefix: "-NOPROVIDER")
        // The connection stays usable after error replies.
        try expect(client, "PING", "+PONG")
    }

    func testProviderCreateAndResize() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 2", "+OK")
        try expect(client, "SEATS room", "+SEATS capacity=2 booked=0 free=2 waiting=0 refused=0")
        try expect(client, "BOOK room h1", "+BOOKED 1")
        try expect(client, "BOOK room h2", "+BOOKED 0")
        try expect(client, "PROVIDER room 1", "-ERR capacity below booked seats")
        try expect(client, "SEATS room", "+SEATS capacity=2 booked=2 free=0 waiting=0 refused=0")
        try expect(client, "PROVIDER room 5", "+OK")
        try expect(client, "SEATS room", "+SEATS capacity=5 booked=2 free=3 waiting=0 refused=0")
        try expect(client, "BOOK room h3", "+BOOKED 2")
        try expect(client, "PROVIDER room 3", "+OK")
        try expect(client, "SEATS room", "+SEATS capacity=3 booked=3 free=0 waiting=0 refused=0")
        try expect(client, "BOOK room h4", "+FULL room")
    }

    func testCapacityIncreasePromotesWaiters() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
        try expect(client, "BOOK room w1 WAIT", "+WAITING 1")
        try expect(client, "BOOK room w2 WAIT", "+WAITING 2")
        try expect(client, "BOOK room w3 WAIT", "+WAITING 3")
        try expect(client, "PROVIDER room 3", "+OK")
        try expect(client, "STATUS room w1", "+BOOKED")
        try expect(client, "STATUS room w2", "+BOOKED")
        try expect(client, "STATUS room w3", "+WAITING 1")
        try expect(client, "SEATS room", "+SEATS capacity=3 booked=3 free=0 waiting=1 refused=0")
        try expect(client, "PROVIDER room 5", "+OK")
        try expect(client, "STATUS room w3", "+BOOKED")
        try expect(client, "SEATS room", "+SEATS capacity=5 booked=4 free=1 waiting=0 refused=0")
    }

    func testInvalidCapacity() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER room abc", "-ERR invalid capacity 'abc'")
        try expect(client, "PROVIDER room -1", "-ERR invalid capacity '-1'")
        try expect(client, "PROVIDER room 1.5", "-ERR invalid capacity '1.5'")
        try expect(
            client, "PROVIDER room 99999999999999999999999",
            "-ERR invalid capacity '99999999999999999999999'")
        // Past --max-capacity (default 10,000,000) is refused too.
        try expect(client, "PROVIDER room 10000001", prefix: "-ERR")
        try expect(client, "SEATS room", prefix: "-NOPROVIDER")
        try expect(client, "PROVIDER room 10000000", "+OK")
    }

    func testIdsAreValidatedAndCaseSensitive() throws {
        try startStack()
        let client = try connect()
        let longest = String(repeating: "a", count: 64)
        let tooLong = String(repeating: "b", count: 65)
        try expect(client, "PROVIDER Room 5", "+OK")
        try expect(client, "PROVIDER \(longest) 1", "+OK")
        try expect(client, "BOOK \(longest) \(longest)", "+BOOKED 0")
        try expect(client, "PROVIDER \(tooLong) 1", "-ERR invalid id '\(tooLong)'")
        try expect(client, "BOOK Room \(tooLong)", "-ERR invalid id '\(tooLong)'")
        try expect(client, "BOOK Room bad/id", "-ERR invalid id 'bad/id'")
        try expect(client, "BOOK Room h#1", "-ERR invalid id 'h#1'")
        try expect(client, "STATUS Room h,1", "-ERR invalid id 'h,1'")
        try expect(client, "BOOK r*m h1", "-ERR invalid id 'r*m'")
        // Every allowed character.
        try expect(client, "BOOK Room Az09_.:@-", "+BOOKED 4")
        try expect(client, "STATUS Room Az09_.:@-", "+BOOKED")
        // Ids are case-sensitive.
        try expect(client, "BOOK room Alice", "-NOPROVIDER room")
        try expect(client, "BOOK Room Alice", "+BOOKED 3")
        try expect(client, "STATUS Room alice", "+NONE")
        try expect(client, "STATUS Room ALICE", "+NONE")
        try expect(client, "BOOK Room alice", "+BOOKED 2")
        try expect(client, "SEATS Room", "+SEATS capacity=5 booked=3 free=2 waiting=0 refused=0")
    }

    func testHolderLimitAcrossProviders() throws {
        try startStack(["--holder-limit", "2"])
        let client = try connect()
        for provider in ["a", "b", "c"] { try expect(client, "PROVIDER \(provider) 5", "+OK") }
        try expect(client, "BOOK a h1", "+BOOKED 4")
        try expect(client, "BOOK b h1", "+BOOKED 4")
        try expect(client, "BOOK c h1", "+LIMIT h1")
        try expect(client, "BOOK c h1 WAIT", "+LIMIT h1")
        try expect(client, "STATUS c h1", "+NONE")
        // A seat the holder already has is not over the limit: retries stay safe.
        try expect(client, "BOOK a h1", "+BOOKED 4")
        // Other holders are not affected.
        try expect(client, "BOOK c h2", "+BOOKED 4")
        try expect(client, "SEATS c", "+SEATS capacity=5 booked=1 free=4 waiting=0 refused=0")
        try expect(client, "CANCEL b h1", "+CANCELLED 5")
        try expect(client, "BOOK c h1", "+BOOKED 3")
    }
}
