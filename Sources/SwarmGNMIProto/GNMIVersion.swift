/// The gNMI specification version `Proto/gnmi/gnmi.proto` follows; a collector reports it beside
/// the version a device states in `CapabilityResponse.gNMI_version`.
public let gnmiSpecificationVersion = "0.10.0"
