using System.Text.Json;

namespace RuntimeSentinel.Formats;

/// <summary>
/// A Hubble flow's fields in whichever JSON its exporter wrote (docs/formats.md, "Hubble"): protojson with proto names
/// (<c>hubble observe -o json</c>/<c>jsonpb</c> since the flow types got a generated <c>MarshalJSON</c>, the exporter: <c>traffic_direction</c>,
/// enum names, RFC 3339 times), protojson with JSON names (gRPC gateways and other clients: <c>trafficDirection</c>,
/// <c>podName</c>, <c>sourcePort</c>), and Go's <c>encoding/json</c> of the generated structs (older <c>hubble observe -o json</c>:
/// enums as numbers, <c>{seconds, nanos}</c> times, oneofs wrapped as <c>l4.Protocol.TCP</c> and <c>l7.Record.Dns</c>,
/// <c>is_reply</c> as <c>{"value": true}</c>). Everything is a lookup on the tape; nothing is allocated.
/// </summary>
internal static class HubbleFlowFields
{
    /// <summary>flow.proto's <c>Verdict</c> values, by number.</summary>
    private static readonly string[] Verdicts = ["VERDICT_UNKNOWN", "FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED"];

    /// <summary>A field under either of its names (proto name first, then the JSON or Go name).</summary>
    public static JsonNode? Either(this JsonNode e, string name, string other) => e.Get(name) ?? e.Get(other);

    /// <summary>The <c>IP</c> section (<c>ip</c> when a client lower-cased it).</summary>
    public static JsonNode? Ip(JsonNode flow) => flow.Either("IP", "ip");

    public static string? NodeName(JsonNode e) => e.Either("node_name", "nodeName")?.AsText();

    public static string? PodName(JsonNode endpoint) => endpoint.Either("pod_name", "podName")?.AsText();

    /// <summary>INGRESS, EGRESS or TRAFFIC_DIRECTION_UNKNOWN: from the enum name or its number.</summary>
    public static string Direction(JsonNode flow) => flow.Either("traffic_direction", "trafficDirection") switch
    {
        { ValueKind: JsonValueKind.Number } n => n.TryGetInt64(out var d) && d is 1 ? "INGRESS" : d is 2 ? "EGRESS" : "TRAFFIC_DIRECTION_UNKNOWN",
        { ValueKind: JsonValueKind.String } s => s.AsText() ?? "TRAFFIC_DIRECTION_UNKNOWN",
        _ => "TRAFFIC_DIRECTION_UNKNOWN",
    };

    /// <summary>The verdict's name (FORWARDED, DROPPED, ...) from the enum name or its number; null when absent.</summary>
    public static string? Verdict(JsonNode flow) => flow.Get("verdict") switch
    {
        { ValueKind: JsonValueKind.Number } n => n.TryGetInt64(out var v) && v >= 0 && v < Verdicts.Length ? Verdicts[v] : null,
        { } s => s.AsText(),
        null => null,
    };

    /// <summary>
    /// Whether the flow is a reply: <c>is_reply</c> (a BoolValue: <c>true</c>, or <c>{"value": true}</c> from
    /// encoding/json), <c>isReply</c>, or the deprecated <c>reply</c>.
    /// </summary>
    public static bool IsReply(JsonNode flow)
    {
        var isReply = flow.Either("is_reply", "isReply");
        if (isReply is { ValueKind: JsonValueKind.Object } wrapper)
        {
            isReply = wrapper.Get("value");
        }

        return isReply?.ValueKind == JsonValueKind.True || flow.Get("reply")?.ValueKind == JsonValueKind.True;
    }

    /// <summary>
    /// The L4 protocol's section (<c>TCP</c>, <c>UDP</c>, <c>ICMPv4</c>, ...) and its name, also under encoding/json's
    /// oneof wrapper <c>Protocol</c>; null without an <c>l4</c>.
    /// </summary>
    public static (string Name, JsonNode Section)? L4(JsonNode flow)
    {
        if (flow.Get("l4") is not { ValueKind: JsonValueKind.Object } l4)
        {
            return null;
        }

        if (l4.Get("Protocol") is { ValueKind: JsonValueKind.Object } oneof)
        {
            l4 = oneof;
        }

        foreach (var p in l4.EnumerateObject())
        {
            return (p.Name, p.Value);
        }

        return null;
    }

    public static int SourcePort(JsonNode l4) => Port(l4, "source_port", "sourcePort");

    public static int DestinationPort(JsonNode l4) => Port(l4, "destination_port", "destinationPort");

    /// <summary>A TCP flag (<c>SYN</c>, <c>ACK</c>): set when true (protojson and encoding/json both write booleans).</summary>
    public static bool Flag(JsonNode tcp, string flag) => tcp.Path("flags", flag)?.ValueKind == JsonValueKind.True;

    /// <summary>The L7 record (<c>dns</c>/<c>http</c>), also under encoding/json's oneof wrapper <c>Record</c> (<c>Dns</c>/<c>Http</c>).</summary>
    public static JsonNode? L7Record(JsonNode l7, string name, string goName) =>
        l7.Get(name) ?? (l7.Get("Record") is { ValueKind: JsonValueKind.Object } record ? record.Either(name, goName) : null);

    /// <summary>REQUEST, RESPONSE, SAMPLE or UNKNOWN_L7_TYPE from the enum name or its number; null when absent.</summary>
    public static string? L7Type(JsonNode l7) => l7.Get("type") switch
    {
        { ValueKind: JsonValueKind.Number } n => n.TryGetInt64(out var t) ? t switch { 1 => "REQUEST", 2 => "RESPONSE", 3 => "SAMPLE", _ => "UNKNOWN_L7_TYPE" } : null,
        { } s => s.AsText(),
        null => null,
    };

    private static int Port(JsonNode l4, string name, string jsonName) => l4.Get(name) is not null ? l4.Int(name) : l4.Int(jsonName);

    /// <summary>A string, or a number's text (as <see cref="Json.Str"/> reads a field).</summary>
    private static string? AsText(this JsonNode v) => v.ValueKind switch
    {
        JsonValueKind.String => Json.NullIfEmpty(v.GetString()),
        JsonValueKind.Number => v.GetRawText(),
        _ => null,
    };
}
