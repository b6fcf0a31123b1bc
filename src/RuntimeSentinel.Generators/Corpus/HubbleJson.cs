using static RuntimeSentinel.Generators.Corpus.SensorJson;

namespace RuntimeSentinel.Generators.Corpus;

/// <summary>
/// Hubble flows the cluster corpus needs beyond the shop's: DNS answers with their real TTL, record type and
/// response code (a search-list miss is an NXDOMAIN, an AAAA question for a name without IPv6 an empty NOERROR), and
/// the L4 flows an export that keeps policy drops shows (<c>verdict: DROPPED</c>, <c>drop_reason_desc: POLICY_DENIED</c>).
/// Same <c>hubble observe -o json</c> wrapping as <see cref="SensorJson.HubbleDns"/>.
/// </summary>
internal static class HubbleJson
{
    /// <summary>One DNS message through Cilium's DNS proxy: the question, or its answer (ips empty when there is none).</summary>
    public static byte[] Dns(CorpusPod client, CorpusPod dns, DateTimeOffset time, string query, string qtype, int port, bool response, IReadOnlyList<string> ips, int rcode, int ttl) => Write(w =>
    {
        var node = client.Node.Name;
        var fqdn = query.EndsWith('.') ? query : query + ".";
        w.WriteStartObject("flow");
        w.WriteString("time", Time(time));
        w.WriteString("verdict", "FORWARDED");
        w.WriteStartObject("IP");
        w.WriteString("source", response ? dns.Ip : client.Ip);
        w.WriteString("destination", response ? client.Ip : dns.Ip);
        w.WriteString("ipVersion", "IPv4");
        w.WriteEndObject();
        w.WriteStartObject("l4");
        w.WriteStartObject("UDP");
        w.WriteNumber("source_port", response ? 53 : port);
        w.WriteNumber("destination_port", response ? port : 53);
        w.WriteEndObject();
        w.WriteEndObject();
        Endpoint(w, "source", response ? dns : client);
        Endpoint(w, "destination", response ? client : dns);
        w.WriteString("Type", "L7");
        w.WriteString("node_name", node);
        w.WriteStartObject("l7");
        w.WriteString("type", response ? "RESPONSE" : "REQUEST");
        if (response)
        {
            w.WriteNumber("latency_ns", rcode == 0 && ips.Count > 0 ? 380_000 + (port % 900 * 1000) : 210_000 + (port % 300 * 1000));
        }

        w.WriteStartObject("dns");
        w.WriteString("query", fqdn);
        if (response)
        {
            if (ips.Count > 0)
            {
                w.WriteStartArray("ips");
                foreach (var ip in ips)
                {
                    w.WriteStringValue(ip);
                }

                w.WriteEndArray();
                w.WriteNumber("ttl", ttl);
            }

            if (rcode != 0)
            {
                w.WriteNumber("rcode", rcode);
            }
        }

        w.WriteString("observation_source", "proxy");
        w.WriteStartArray("qtypes");
        w.WriteStringValue(qtype);
        w.WriteEndArray();
        if (response && ips.Count > 0)
        {
            w.WriteStartArray("rrtypes");
            w.WriteStringValue(qtype);
            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("event_type");
        w.WriteNumber("type", 129);
        w.WriteEndObject();
        w.WriteString("traffic_direction", response ? "INGRESS" : "EGRESS");
        w.WriteBoolean("is_reply", response);
        var summary = !response ? $"DNS Query {fqdn} {qtype}"
            : rcode == 3 ? $"DNS Answer RCode: Non-Existent Domain TTL: 4294967295 (Proxy {fqdn} {qtype})"
            : ips.Count == 0 ? $"DNS Answer  TTL: 4294967295 (Proxy {fqdn} {qtype})"
            : $"DNS Answer \"{string.Join(",", ips)}\" TTL: {ttl} (Proxy {fqdn} {qtype})";
        w.WriteString("Summary", summary);
        w.WriteEndObject();
        w.WriteString("node_name", node);
        w.WriteString("time", Time(time));
    });

    /// <summary>A connection attempt a network policy denied: the SYN, dropped at the pod's egress, never answered.</summary>
    public static byte[] Drop(CorpusPod pod, DateTimeOffset time, string destination, int port, int sport) => Write(w =>
    {
        var node = pod.Node.Name;
        w.WriteStartObject("flow");
        w.WriteString("time", Time(time));
        w.WriteString("verdict", "DROPPED");
        w.WriteNumber("drop_reason", 133);
        w.WriteStartObject("ethernet");
        w.WriteString("source", "9a:3c:11:0e:5f:21");
        w.WriteString("destination", "be:7d:02:c4:9a:10");
        w.WriteEndObject();
        w.WriteStartObject("IP");
        w.WriteString("source", pod.Ip);
        w.WriteString("destination", destination);
        w.WriteString("ipVersion", "IPv4");
        w.WriteEndObject();
        w.WriteStartObject("l4");
        w.WriteStartObject("TCP");
        w.WriteNumber("source_port", sport);
        w.WriteNumber("destination_port", port);
        w.WriteStartObject("flags");
        w.WriteBoolean("SYN", true);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        Endpoint(w, "source", pod);
        w.WriteStartObject("destination");
        w.WriteNumber("identity", 2);
        w.WriteStartArray("labels");
        w.WriteStringValue("reserved:world");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteString("Type", "L3_L4");
        w.WriteString("node_name", node);
        w.WriteStartObject("event_type");
        w.WriteNumber("type", 1);
        w.WriteNumber("sub_type", 133);
        w.WriteEndObject();
        w.WriteString("traffic_direction", "EGRESS");
        w.WriteString("drop_reason_desc", "POLICY_DENIED");
        w.WriteBoolean("is_reply", false);
        w.WriteString("Summary", "TCP Flags: SYN");
        w.WriteEndObject();
        w.WriteString("node_name", node);
        w.WriteString("time", Time(time));
    });
}
