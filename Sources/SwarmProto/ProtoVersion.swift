/// The mesh protocol version the generated code in `Generated/` describes.
public enum ProtoVersion {
    public static let mesh: UInt32 = 1
}
