import SwarmStore
import Testing

@Suite struct StoreLocationTests {
    @Test(
        "sqlite: URLs and bare paths name a SQLite file",
        arguments: [
            ("sqlite:data/streamswarm.sqlite", "data/streamswarm.sqlite"),
            ("sqlite:/var/lib/swarm.sqlite", "/var/lib/swarm.sqlite"),
            ("sqlite:///var/lib/swarm.sqlite", "/var/lib/swarm.sqlite"),
            ("SQLite:x.db", "x.db"),
            ("data/streamswarm.sqlite", "data/streamswarm.sqlite"),
            ("/tmp/a b/store.sqlite", "/tmp/a b/store.sqlite"),
            ("./odd:name.sqlite", "./odd:name.sqlite"),
            ("  sqlite:padded.sqlite \n", "padded.sqlite"),
        ]
    )
    func sqlite(text: String, path: String) throws {
        let location = try StoreLocation(parsing: text)
        #expect(location == .sqlite(path: path))
        #expect(location.description == "sqlite:\(path)")
    }

    @Test("postgres:// and postgresql:// are recognised, and their password never printed")
    func postgres() throws {
        let url = "postgresql://swarm:s3cret@db.example:5432/streamswarm?sslmode=require"
        let location = try StoreLocation(parsing: url)
        #expect(location.backend == .postgres(url: url))
        #expect(location.description == "postgresql://swarm:***@db.example:5432/streamswarm?sslmode=require")
        #expect(try StoreLocation(parsing: "postgres://db/streamswarm").description == "postgres://db/streamswarm")
    }

    @Test(
        "anything else is refused with a message naming the accepted forms",
        arguments: [
            ("", "the store location is empty; use \(StoreLocation.acceptedForms)"),
            (
                "mysql://root:pw@h/db",
                "store location scheme 'mysql:' is not supported; use \(StoreLocation.acceptedForms)"
            ),
            ("sqlite:", "sqlite: needs a file path, e.g. sqlite:data/streamswarm.sqlite"),
            (
                "sqlite://data/x.sqlite",
                "sqlite://data/x.sqlite names a host, which SQLite has none of; use sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE/PATH"
            ),
            ("postgres:db", "a PostgreSQL location is a URL: postgres://USER@HOST:PORT/DATABASE"),
        ]
    )
    func refused(text: String, message: String) {
        let error = #expect(throws: StoreError.self) { try StoreLocation(parsing: text) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message == message)
        #expect(error?.message.contains("pw") == false, "a password in a refused URL is never repeated")
    }
}
