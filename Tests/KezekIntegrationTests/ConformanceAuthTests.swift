import XCTest
import KezekTestSupport

/// AUTH with `--token` and `--admin-token`.
final class ConformanceAuthTests: IntegrationTestCase {
    func testClientAndAdminTokens() throws {
        try startStack(["--token", "client-secret", "--admin-token", "admin-secret"])
        let client = try connect()
        // Before AUTH only AUTH, PING, QUIT and HEALTH are served.
        for request in [
            "BOOK room h1", "CANCEL room h1", "STATUS room h1", "SEATS room", "PROVIDER room 1",
        ] {
            try expect(client, request, "-NOAUTH Authentication required.")
        }
        try expect(client, "PING", "+PONG")
        try expect(client, "HEALTH", prefix: "+OK")
        try expect(client, "AUTH wrong", prefix: "-WRONGPASS")
        try expect(client, "BOOK room h1", "-NOAUTH Authentication required.")
        try expect(client, "AUTH client-secret", "+OK")
        try expect(client, "BOOK room h1", "-NOPROVIDER room")
        try expect(client, "PROVIDER room 1", prefix: "-NOPERM")

        let admin = try connect()
        try expect(admin, "AUTH admin-secret", "+OK")
        try expect(admin, "PROVIDER room 1", "+OK")
        try expect(admin, "BOOK room a1", "+BOOKED 0")

        try expect(client, "BOOK room h1", "+FULL room")
        try expect(client, "STATUS room a1", "+BOOKED")
        try expect(client, "SEATS room", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=1")
        try expect(client, "PROVIDER room 2", prefix: "-NOPERM")
        // RESP AUTH works the same.
        let resp = try connect()
        try resp.send(LineClient.resp(["AUTH", "client-secret"]))
        XCTAssertEqual(try resp.readLine(), "+OK")
        try expect(resp, "STATUS room a1", "+BOOKED")
        // QUIT is served before AUTH.
        try expect(try connect(), "QUIT", "+BYE")
    }

    func testFailedAuthKeepsConnectionOpen() throws {
        try startStack(["--token", "client-secret"])
        let client = try connect()
        try expect(client, "AUTH client-secret", "+OK")
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "AUTH nope", prefix: "-WRONGPASS")
        // Redis keeps the connection authenticated after a failed AUTH; the contract is
        // silent, so only require that the connection is still open and answering.
        try expect(client, "PING", "+PONG")
    }

    func testClientTokenAloneAllowsProvider() throws {
        try startStack(["--token", "only"])
        let client = try connect()
        try expect(client, "PROVIDER room 1", "-NOAUTH Authentication required.")
        try expect(client, "AUTH only", "+OK")
        try expect(client, "PROVIDER room 1", "+OK")
        try expect(client, "BOOK room h1", "+BOOKED 0")
    }
}
