import Testing

@Suite struct LabValidationTests {
    @Test func placeholder() {}
}
