using System.Text.Json;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Cilium Hubble flows (<c>hubble observe -o json</c>: <c>{"flow":{...},"node_name":..,"time":..}</c>, or a bare flow).
/// Each flow is seen from the local endpoint (the source of an egress flow, the destination of an ingress one):
/// if that endpoint initiated the connection it is a <c>net_connect</c> to the peer, otherwise a <c>net_accept</c> on
/// its port; replies are mapped to the same logical connection. L7 DNS requests become <c>dns_query</c>; the verdict,
/// direction and L7 details travel as labels.
/// </summary>
internal sealed class HubbleFormat : JsonTapeFormat
{
    private static readonly Utf8Factory<JsonNode, LabelSet> EndpointLabelsFactory = static (_, labels) => EndpointLabels(labels);
    private static readonly Utf8Factory<JsonNode, string> AnswersFactory = static (_, ips) => Answers(ips);

    private readonly BoundedCache<LabelKey, LabelSet> _labels = new(4096);
    private readonly Utf8InternCache<string> _answers = new(1024, BoundedCache<string, string>.MaxKeyLength);
    private readonly BoundedCache<string, string> _protocols = new(64, StringComparer.Ordinal);
    private readonly Utf8InternCache<LabelSet> _endpointLabels = new(1024, 8192);

    public override string Name => "hubble";

    /// <summary>What a flow's labels are made of; flows of one connection share them.</summary>
    private readonly record struct LabelKey(
        string? Verdict, string Direction, bool Reply, bool Arrival, string? PeerNamespace, string? PeerKind, string? PeerName,
        bool L7, string? L7Type, bool Http, string? Method, string? Url)
    {
        public int Length => (Verdict?.Length ?? 0) + Direction.Length + (PeerNamespace?.Length ?? 0) + (PeerKind?.Length ?? 0) + (PeerName?.Length ?? 0)
            + (L7Type?.Length ?? 0) + (Method?.Length ?? 0) + (Url?.Length ?? 0);
    }

    protected override DecodeStatus Decode(JsonNode root, out RuntimeEvent evt, out DecodeError error, out string? note)
    {
        // `hubble observe -o json` wraps each flow; the API, exporters and docs also give bare flows.
        var flow = root.Get("flow") ?? (IsBareFlow(root) ? root : null);
        if (flow is not { } f)
        {
            if (root.Get("node_status") is not null || root.Get("lost_events") is not null || root.Get("agent_event") is not null || root.Get("debug_event") is not null)
            {
                return Json.Ignore(out evt, out error, out note, "hubble_status");
            }

            return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "flow", "a Hubble record carries a flow object");
        }

        // A flow always happened; one exported without a time is taken as seen on arrival (labelled so).
        var ts = Json.Time(f.Get("time")) ?? Json.Time(root.Get("time"));
        var arrival = ts is null;
        ts ??= DateTimeOffset.UtcNow;

        var ip = HubbleFlowFields.Ip(f);
        var srcIp = ip?.Str("source");
        var dstIp = ip?.Str("destination");
        if (srcIp is null || dstIp is null)
        {
            // Ethernet-only flows (ARP and other L2 traffic) name no IP peer: nothing to learn per workload.
            return Json.Ignore(out evt, out error, out note, "hubble_flow_without_ip");
        }

        var l4 = HubbleFlowFields.L4(f);
        var (protocol, srcPort, dstPort) = L4(l4);
        var direction = HubbleFlowFields.Direction(f);
        var source = f.Get("source");
        var destination = f.Get("destination");
        var localIsSource = direction switch
        {
            "EGRESS" => true,
            "INGRESS" => false,
            _ => source is { } s && HubbleFlowFields.PodName(s) is not null,
        };
        var reply = HubbleFlowFields.IsReply(f);

        // The initiator of the connection: the source of a request, the destination of a reply.
        var sourceInitiated = !reply;
        var local = localIsSource ? source : destination;
        var node = HubbleFlowFields.NodeName(root) ?? HubbleFlowFields.NodeName(f);
        var localInitiated = localIsSource == sourceInitiated;
        var (localIp, localPort, remoteIp, remotePort) = localIsSource ? (srcIp, srcPort, dstIp, dstPort) : (dstIp, dstPort, srcIp, srcPort);
        // Hubble names the peer's workload itself: the endpoint identity that survives pod IP churn.
        var peer = localIsSource ? destination : source;
        string? peerNs = null, peerKind = null, peerName = null;
        if (peer?.Str("namespace") is { } ns && peer.Value.Get("workloads") is { ValueKind: JsonValueKind.Array } pw && pw.GetArrayLength() > 0 && pw[0].Str("name") is { } name)
        {
            (peerNs, peerKind, peerName) = (ns, pw[0].Str("kind") ?? "Deployment", name);
        }

        var l7 = f.Get("l7");
        var http = l7 is { } l7Section ? HubbleFlowFields.L7Record(l7Section, "http", "Http") : null;
        var dns = l7 is { } l7Dns ? HubbleFlowFields.L7Record(l7Dns, "dns", "Dns") : null;
        var labelKey = new LabelKey(
            HubbleFlowFields.Verdict(f), direction, reply, arrival, peerNs, peerKind, peerName, l7 is not null, l7 is { } t ? HubbleFlowFields.L7Type(t) : null,
            http is not null && dns is null, http?.Str("method"), http?.Str("url"));
        var labels = _labels.GetOrAdd(labelKey, labelKey.Length, 0, BuildLabels);

        var e = new RuntimeEvent
        {
            Timestamp = ts.Value,
            Node = node,
            Workload = Identity(local, node),
        };

        if (l7 is { } l7Flow)
        {
            if (dns is { } dnsRecord)
            {
                var query = dnsRecord.Str("query");
                if (query is null)
                {
                    return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "flow.l7.dns.query", "DNS flow without a query");
                }

                // Requests and responses both name the query; the requesting side is the workload that resolved it.
                // A response also carries the addresses (ips): what later connections to them are called.
                var response = HubbleFlowFields.L7Type(l7Flow) == "RESPONSE";
                var requester = response ? !localIsSource : localIsSource;
                var who = requester ? local : (localIsSource ? destination : source);
                string? answers = null;
                if (response && dnsRecord.Get("ips") is { ValueKind: JsonValueKind.Array } ips && ips.GetArrayLength() > 0)
                {
                    // Answers repeat per name: joined once per distinct list.
                    answers = _answers.GetOrAdd(ips.Utf8, ips, AnswersFactory);
                }

                return Json.Accept(e with { Kind = EventKind.DnsQuery, DnsName = query, DnsAnswers = Json.NullIfEmpty(answers), Workload = Identity(who, node), Labels = labels }, out evt, out error, out note);
            }
        }

        var net = new NetInfo(protocol, localIp, localPort, remoteIp, remotePort, 0, 0) { Direction = localInitiated ? NetDirection.Outbound : NetDirection.Inbound };

        // A TCP connection is opened by its first SYN; every other segment (ACK, PSH, FIN, RST, and the SYN-ACK
        // reply) is traffic on it. UDP and ICMP have no handshake: each request flow stands for the connection.
        var tcp = l4 is { Name: var l4Name, Section: var section } && l4Name.Equals("TCP", StringComparison.OrdinalIgnoreCase) ? section : (JsonNode?)null;
        var opening = tcp is null || (HubbleFlowFields.Flag(tcp.Value, "SYN") && !HubbleFlowFields.Flag(tcp.Value, "ACK") && !reply);
        if (!opening || (tcp is null && reply))
        {
            return Json.Accept(e with { Kind = EventKind.NetFlow, Net = net, Labels = labels }, out evt, out error, out note);
        }

        var kind = localInitiated ? EventKind.NetConnect : EventKind.NetAccept;
        if (kind == EventKind.NetConnect && remotePort < 0)
        {
            net = net with { RemotePort = 0 }; // ICMP has no ports
        }

        if (kind == EventKind.NetAccept && localPort < 0)
        {
            net = net with { LocalPort = 0 };
        }

        return Json.Accept(e with { Kind = kind, Net = net, Labels = labels }, out evt, out error, out note);
    }

    private const string PeerWorkloadLabel = "peer.workload";

    private static LabelSet BuildLabels(LabelKey key, int unused)
    {
        var labels = new List<KeyValuePair<string, string>>
        {
            KeyValuePair.Create("source", "hubble"),
            KeyValuePair.Create("hubble.verdict", key.Verdict ?? "UNKNOWN"),
            KeyValuePair.Create("hubble.direction", key.Direction),
        };
        if (key.Reply)
        {
            labels.Add(KeyValuePair.Create("hubble.reply", "true"));
        }

        if (key.Arrival)
        {
            labels.Add(KeyValuePair.Create("time", "arrival"));
        }

        if (key.PeerName is not null)
        {
            labels.Add(KeyValuePair.Create(PeerWorkloadLabel, $"{key.PeerNamespace}/{key.PeerKind}/{key.PeerName}"));
        }

        if (key.L7)
        {
            labels.Add(KeyValuePair.Create("hubble.l7", key.L7Type ?? "UNKNOWN"));
        }

        if (key.Http)
        {
            labels.Add(KeyValuePair.Create("http.method", key.Method ?? "?"));
            if (key.Url is { } url)
            {
                labels.Add(KeyValuePair.Create("http.url", url.Length > 512 ? url[..512] : url));
            }
        }

        return new LabelSet(labels.ToArray());
    }

    /// <summary>The answers' addresses (at most 16), comma-separated.</summary>
    private static string Answers(JsonNode ips)
    {
        var valid = new List<string>();
        foreach (var ip in ips.EnumerateArray())
        {
            var text = ip.ToString();
            if (valid.Count < 16 && System.Net.IPAddress.TryParse(text, out _))
            {
                valid.Add(text);
            }
        }

        return string.Join(',', valid);
    }

    private static bool IsBareFlow(JsonNode root) =>
        HubbleFlowFields.Ip(root) is not null || root.Get("verdict") is not null || root.Get("l4") is not null || root.Either("traffic_direction", "trafficDirection") is not null
        || (root.Get("source") is { ValueKind: JsonValueKind.Object } && root.Get("destination") is { ValueKind: JsonValueKind.Object });

    private (string Protocol, int Source, int Destination) L4((string Name, JsonNode Section)? l4)
    {
        if (l4 is not var (name, section))
        {
            return ("ip", -1, -1);
        }

        var protocol = _protocols.GetOrAdd(name, name.Length, 0, static (n, _) => n.ToLowerInvariant());
        return (protocol, HubbleFlowFields.SourcePort(section), HubbleFlowFields.DestinationPort(section));
    }

    private WorkloadRef Identity(JsonNode? endpoint, string? node)
    {
        if (endpoint is not { } ep || HubbleFlowFields.PodName(ep) is not { } pod)
        {
            // reserved:host / world / health: traffic of the node itself.
            return Json.Host(node);
        }

        // An endpoint's labels are the same in every flow of its pod: built once per distinct list.
        var labels = ep.Get("labels") is { ValueKind: JsonValueKind.Array } ls ? _endpointLabels.GetOrAdd(ls.Utf8, ls, EndpointLabelsFactory) : LabelSet.Empty;

        string? ownerKind = null, ownerName = null;
        if (ep.Get("workloads") is { ValueKind: JsonValueKind.Array } ws && ws.GetArrayLength() > 0)
        {
            ownerKind = ws[0].Str("kind");
            ownerName = ws[0].Str("name");
        }

        return new WorkloadRef(null, ep.Str("namespace"), pod, null, null, null, null, ownerName is null ? null : ownerKind ?? "Deployment", ownerName, labels);
    }

    /// <summary>Cilium's <c>k8s:key=value</c> labels of an endpoint (its own, not Cilium's or the namespace's), at most 64.</summary>
    private static LabelSet EndpointLabels(JsonNode list)
    {
        var labels = new List<KeyValuePair<string, string>>();
        foreach (var l in list.EnumerateArray())
        {
            var s = l.GetString();
            if (s is null || !s.StartsWith("k8s:", StringComparison.Ordinal) || s.StartsWith("k8s:io.cilium.", StringComparison.Ordinal) || s.StartsWith("k8s:io.kubernetes.pod.namespace", StringComparison.Ordinal))
            {
                continue;
            }

            var eq = s.IndexOf('=');
            if (eq > 4 && labels.Count < 64)
            {
                labels.Add(KeyValuePair.Create(s[4..eq], s[(eq + 1)..]));
            }
        }

        return new LabelSet(labels.ToArray());
    }
}
