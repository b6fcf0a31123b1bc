using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Tests;

public class HubbleVariantTests
{
    private const string File = "hubble-variants.jsonl";

    [Fact]
    public void Decode_GoEncodingJsonFlow_ReadsNumericEnumsSecondsNanosAndTheL4Oneof()
    {
        // An older `hubble observe -o json` (Go encoding/json): verdict 1, Type 1, time {seconds, nanos}, l4.Protocol.TCP, no traffic_direction.
        var e = VariantSamples.Event(File, 1, "hubble");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1591009260).AddTicks(3612841), e.Timestamp);
        Assert.Equal(("shop", "checkout-5c8d7f9b6-2xkqp", "checkout"), (e.Workload.Namespace, e.Workload.Pod, e.Workload.Labels["app"]));
        Assert.Equal(new NetInfo("tcp", "10.16.3.45", 46412, "93.184.216.34", 443, 0, 0) { Direction = NetDirection.Outbound }, e.Net);
        Assert.Equal("FORWARDED", e.Labels["hubble.verdict"]);
        Assert.Equal("gke-prod-pool-1-a1b2", e.Node);
    }

    [Fact]
    public void Decode_GoEncodingJsonDnsResponse_IsTheRequestersQueryWithAnswers()
    {
        // l7.type 2 (RESPONSE), l7.Record.Dns, traffic_direction 1 (INGRESS), is_reply {"value": true}.
        var e = VariantSamples.Event(File, 2, "hubble");
        Assert.Equal(EventKind.DnsQuery, e.Kind);
        Assert.Equal(("payments.example.com.", "203.0.113.10,203.0.113.11"), (e.DnsName, e.DnsAnswers));
        Assert.Equal("checkout-5c8d7f9b6-2xkqp", e.Workload.Pod);
        Assert.Equal(("INGRESS", "true", "RESPONSE"), (e.Labels["hubble.direction"], e.Labels["hubble.reply"], e.Labels["hubble.l7"]));
    }

    [Fact]
    public void Decode_GoEncodingJsonHttpRequest_IsTrafficWithTheMethodAndUrl()
    {
        var e = VariantSamples.Event(File, 3, "hubble");
        Assert.Equal(EventKind.NetFlow, e.Kind);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1591009262), e.Timestamp);
        Assert.Equal(("10.16.5.12", 8080, NetDirection.Outbound), (e.Net.RemoteIp, e.Net.RemotePort, e.Net.Direction));
        Assert.Equal(("GET", "http://inventory:8080/items/42", "REQUEST"), (e.Labels["http.method"], e.Labels["http.url"], e.Labels["hubble.l7"]));
    }

    [Fact]
    public void Decode_ProtojsonWithJsonNames_ReadsCamelCaseFields()
    {
        // nodeName, podName, sourcePort/destinationPort, trafficDirection, isReply.
        var e = VariantSamples.Event(File, 4, "hubble");
        Assert.Equal(EventKind.NetConnect, e.Kind);
        Assert.Equal("kind-worker", e.Node);
        Assert.Equal(("cart-6d4b9c7f5-q8w2z", "Deployment", "cart"), (e.Workload.Pod, e.Workload.OwnerKind, e.Workload.OwnerName));
        Assert.Equal(new NetInfo("udp", "10.244.1.17", 38911, "10.96.0.10", 53, 0, 0) { Direction = NetDirection.Outbound }, e.Net);
        Assert.Equal(("EGRESS", "kube-system/Deployment/coredns"), (e.Labels["hubble.direction"], e.Labels["peer.workload"]));
    }

    [Fact]
    public void Decode_FlowWithoutTime_IsStampedOnArrivalAndLabelled()
    {
        var before = DateTimeOffset.UtcNow;
        var e = VariantSamples.Event(File, 5, "hubble");
        Assert.Equal(EventKind.NetAccept, e.Kind);
        Assert.InRange(e.Timestamp, before, DateTimeOffset.UtcNow);
        Assert.Equal(("arrival", "DROPPED"), (e.Labels["time"], e.Labels["hubble.verdict"]));
        Assert.Equal(("redis-0", 6379, "10.244.2.9"), (e.Workload.Pod, e.Net.LocalPort, e.Net.RemoteIp));
    }

    [Fact]
    public void Decode_IntegerVerdictAndIcmpOneof_IsNamedVerdictAndPortlessConnect()
    {
        var e = VariantSamples.Event(File, 6, "hubble");
        Assert.Equal((EventKind.NetConnect, "icmpv4", 0), (e.Kind, e.Net.Protocol, e.Net.RemotePort));
        Assert.Equal(("DROPPED", "EGRESS"), (e.Labels["hubble.verdict"], e.Labels["hubble.direction"]));
    }

    [Theory]
    [InlineData("""{"Type":1,"node_name":"n1","Summary":"TCP Flags: SYN"}""", "flow", "a Hubble record carries a flow object")]
    [InlineData("""{"flow":{"verdict":1,"IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l7":{"type":1,"Record":{"Dns":{"qtypes":["A"]}}}}}""", "flow.l7.dns.query", "DNS flow without a query")]
    public void Decode_RecordWithoutAFlowOrQuery_IsRejectedWithTheReason(string json, string field, string detail)
    {
        var error = VariantSamples.Rejection("hubble", json);
        Assert.Equal((DecodeErrorCode.MissingField, field, detail), (error.Code, error.Field, error.Detail));
    }
}
