using System.Text.Json;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats;

/// <summary>
/// Cilium Hubble flows (<c>hubble observe -o json</c>: <c>{"flow":{...},"node_name":..,"time":..}</c>, or a bare flow).
/// Each flow is seen from the local endpoint (the source of an egress flow, the destination of an ingress one):
/// if that endpoint initiated the connection it is a <c>net_connect</c> to the peer, otherwise a <c>net_accept</c> on
/// its port; replies are mapped to the same logical connection. L7 DNS requests become <c>dns_query</c>; the verdict,
/// direction and L7 details travel as labels.
/// </summary>
internal sealed class HubbleFormat : JsonDocumentFormat
{
    public override string Name => "hubble";

    protected override DecodeStatus Decode(JsonElement root, out RuntimeEvent evt, out DecodeError error, out string? note)
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

        var srcIp = f.Str("IP", "source");
        var dstIp = f.Str("IP", "destination");
        if (srcIp is null || dstIp is null)
        {
            // Ethernet-only flows (ARP and other L2 traffic) name no IP peer: nothing to learn per workload.
            return Json.Ignore(out evt, out error, out note, "hubble_flow_without_ip");
        }

        var (protocol, srcPort, dstPort) = L4(f);
        var direction = f.Str("traffic_direction") ?? "TRAFFIC_DIRECTION_UNKNOWN";
        var source = f.Get("source");
        var destination = f.Get("destination");
        var localIsSource = direction switch
        {
            "EGRESS" => true,
            "INGRESS" => false,
            _ => source?.Str("pod_name") is not null,
        };
        var reply = f.Get("is_reply")?.ValueKind == JsonValueKind.True || f.Get("reply")?.ValueKind == JsonValueKind.True;

        // The initiator of the connection: the source of a request, the destination of a reply.
        var sourceInitiated = !reply;
        var local = localIsSource ? source : destination;
        var node = root.Str("node_name") ?? f.Str("node_name");
        var localInitiated = localIsSource == sourceInitiated;
        var (localIp, localPort, remoteIp, remotePort) = localIsSource ? (srcIp, srcPort, dstIp, dstPort) : (dstIp, dstPort, srcIp, srcPort);
        var labels = new List<KeyValuePair<string, string>>
        {
            KeyValuePair.Create("source", "hubble"),
            KeyValuePair.Create("hubble.verdict", f.Str("verdict") ?? "UNKNOWN"),
            KeyValuePair.Create("hubble.direction", direction),
        };
        if (reply)
        {
            labels.Add(KeyValuePair.Create("hubble.reply", "true"));
        }

        if (arrival)
        {
            labels.Add(KeyValuePair.Create("time", "arrival"));
        }

        // Hubble names the peer's workload itself: the endpoint identity that survives pod IP churn.
        var peer = localIsSource ? destination : source;
        if (peer?.Str("namespace") is { } peerNs && peer.Value.Get("workloads") is { ValueKind: JsonValueKind.Array } pw && pw.GetArrayLength() > 0 && pw[0].Str("name") is { } peerName)
        {
            labels.Add(KeyValuePair.Create(PeerWorkloadLabel, $"{peerNs}/{pw[0].Str("kind") ?? "Deployment"}/{peerName}"));
        }

        var e = new RuntimeEvent
        {
            Timestamp = ts.Value,
            Node = node,
            Workload = Identity(local, node),
        };

        if (f.Get("l7") is { } l7)
        {
            labels.Add(KeyValuePair.Create("hubble.l7", l7.Str("type") ?? "UNKNOWN"));
            if (l7.Get("dns") is { } dns)
            {
                var query = dns.Str("query");
                if (query is null)
                {
                    return Json.Reject(out evt, out error, out note, DecodeErrorCode.MissingField, "flow.l7.dns.query", "DNS flow without a query");
                }

                // Requests and responses both name the query; the requesting side is the workload that resolved it.
                // A response also carries the addresses (ips): what later connections to them are called.
                var response = l7.Str("type") == "RESPONSE";
                var requester = response ? !localIsSource : localIsSource;
                var who = requester ? local : (localIsSource ? destination : source);
                string? answers = null;
                if (response && dns.Get("ips") is { ValueKind: JsonValueKind.Array } ips && ips.GetArrayLength() > 0)
                {
                    answers = string.Join(',', ips.EnumerateArray().Select(i => i.ToString()).Where(i => System.Net.IPAddress.TryParse(i, out _)).Take(16));
                }

                return Json.Accept(e with { Kind = EventKind.DnsQuery, DnsName = query, DnsAnswers = Json.NullIfEmpty(answers), Workload = Identity(who, node), Labels = new LabelSet(labels.ToArray()) }, out evt, out error, out note);
            }

            if (l7.Get("http") is { } http)
            {
                labels.Add(KeyValuePair.Create("http.method", http.Str("method") ?? "?"));
                if (http.Str("url") is { } url)
                {
                    labels.Add(KeyValuePair.Create("http.url", url.Length > 512 ? url[..512] : url));
                }
            }
        }

        var net = new NetInfo(protocol, localIp, localPort, remoteIp, remotePort, 0, 0) { Direction = localInitiated ? NetDirection.Outbound : NetDirection.Inbound };

        // A TCP connection is opened by its first SYN; every other segment (ACK, PSH, FIN, RST, and the SYN-ACK
        // reply) is traffic on it. UDP and ICMP have no handshake: each request flow stands for the connection.
        var tcp = f.Path("l4", "TCP");
        var opening = tcp is null || (tcp.Value.Path("flags", "SYN")?.ValueKind == JsonValueKind.True && tcp.Value.Path("flags", "ACK")?.ValueKind != JsonValueKind.True && !reply);
        if (!opening || (tcp is null && reply))
        {
            return Json.Accept(e with { Kind = EventKind.NetFlow, Net = net, Labels = new LabelSet(labels.ToArray()) }, out evt, out error, out note);
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

        return Json.Accept(e with { Kind = kind, Net = net, Labels = new LabelSet(labels.ToArray()) }, out evt, out error, out note);
    }

    private const string PeerWorkloadLabel = "peer.workload";

    private static bool IsBareFlow(JsonElement root) =>
        root.Get("IP") is not null || root.Get("verdict") is not null || root.Get("l4") is not null || root.Get("traffic_direction") is not null
        || (root.Get("source") is { ValueKind: JsonValueKind.Object } && root.Get("destination") is { ValueKind: JsonValueKind.Object });

    private static (string Protocol, int Source, int Destination) L4(JsonElement f)
    {
        if (f.Get("l4") is { } l4)
        {
            foreach (var p in l4.EnumerateObject())
            {
                return (p.Name.ToLowerInvariant(), p.Value.Int("source_port"), p.Value.Int("destination_port"));
            }
        }

        return ("ip", -1, -1);
    }

    private static WorkloadRef Identity(JsonElement? endpoint, string? node)
    {
        if (endpoint is not { } ep || ep.Str("pod_name") is not { } pod)
        {
            // reserved:host / world / health: traffic of the node itself.
            return Json.Host(node);
        }

        var labels = new List<KeyValuePair<string, string>>();
        if (ep.Get("labels") is { ValueKind: JsonValueKind.Array } ls)
        {
            foreach (var l in ls.EnumerateArray())
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
        }

        string? ownerKind = null, ownerName = null;
        if (ep.Get("workloads") is { ValueKind: JsonValueKind.Array } ws && ws.GetArrayLength() > 0)
        {
            ownerKind = ws[0].Str("kind");
            ownerName = ws[0].Str("name");
        }

        return new WorkloadRef(null, ep.Str("namespace"), pod, null, null, null, null, ownerName is null ? null : ownerKind ?? "Deployment", ownerName, new LabelSet(labels.ToArray()));
    }
}
