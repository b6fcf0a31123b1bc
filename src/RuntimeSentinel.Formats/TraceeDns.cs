using System.Text.Json;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats;

/// <summary>
/// The question and answers of a Tracee DNS event, from whichever argument its version put them in
/// (docs/formats.md, "Tracee"):
/// <list type="bullet">
/// <item><c>proto_dns</c> (<c>net_packet_dns</c>): the whole packet, <c>questions[{name}]</c> and
/// <c>answers[{name, IP}]</c> (v1beta1: the <c>dns</c> value, <c>ip</c>).</item>
/// <item><c>dns_questions</c> (older releases' <c>dns_request</c>, <c>net_packet_dns_request</c>): a list of
/// <c>{query, query_type, query_class}</c> (<c>external.DnsQueryData</c>: <c>queryType</c>; v1beta1: <c>{questions: [...]}</c>).</item>
/// <item><c>dns_response</c> (<c>dns_response</c>, <c>net_packet_dns_response</c>): a list of
/// <c>{query_data: {query}, dns_answer: [{answer_type, ttl, answer}]}</c> (v1beta1: <c>dns_responses</c>,
/// <c>{responses: [{dns_query_data, dns_answer}]}</c>).</item>
/// </list>
/// What an argument says is read once per distinct packet (a name's answers repeat) and cached by its bytes.
/// </summary>
internal sealed class TraceeDns
{
    /// <summary>The arguments that carry DNS, in the order they are looked for.</summary>
    public static readonly string[] ArgumentNames = ["proto_dns", "dns_questions", "dns_response", "dns_responses", "dns"];

    private const int MaxAnswers = 16;

    private static readonly Utf8Factory<JsonNode, Packet> Factory = static (_, value) => Read(value);

    private readonly Utf8InternCache<Packet> _packets = new(4096, BoundedCache<string, string>.MaxKeyLength);

    /// <summary>The first question's name, the first named answer, and the answers' addresses (A and AAAA records, comma-separated).</summary>
    public sealed record Packet(string? Question, string? AnswerName, string? Addresses)
    {
        public static Packet None { get; } = new(null, null, null);
    }

    /// <summary>What one DNS argument's value (already out of its <c>value</c> wrapper) says.</summary>
    public Packet Get(JsonNode value)
    {
        if (value.ValueKind == JsonValueKind.Object && value.Get("value") is { ValueKind: JsonValueKind.Object or JsonValueKind.Array } inner)
        {
            value = inner;
        }

        return value.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? _packets.GetOrAdd(value.Utf8, value, Factory) : Packet.None;
    }

    private static Packet Read(JsonNode v)
    {
        string? question = null, answerName = null;
        var addresses = new List<string>();
        if (v.ValueKind == JsonValueKind.Array)
        {
            // dns_questions / dns_response: a list of queries, or of responses naming their query.
            foreach (var item in v.EnumerateArray())
            {
                question ??= item.Str("query") ?? item.Str("name");
                Response(item, ref question, addresses);
            }
        }
        else
        {
            // proto_dns: the packet. v1beta1 wraps the lists: {questions: [...]}, {responses: [...]}.
            if (v.Get("questions") is { ValueKind: JsonValueKind.Array } questions)
            {
                foreach (var q in questions.EnumerateArray())
                {
                    question ??= q.Str("name") ?? q.Str("query");
                }
            }

            if (v.Get("answers") is { ValueKind: JsonValueKind.Array } answers)
            {
                foreach (var a in answers.EnumerateArray())
                {
                    answerName ??= a.Str("name");
                    Add(addresses, a.Str("IP") ?? a.Str("ip"));
                }
            }

            if (v.Get("responses") is { ValueKind: JsonValueKind.Array } responses)
            {
                foreach (var r in responses.EnumerateArray())
                {
                    Response(r, ref question, addresses);
                }
            }
            else
            {
                Response(v, ref question, addresses);
            }
        }

        return question is null && answerName is null && addresses.Count == 0 ? Packet.None : new Packet(question, answerName, addresses.Count == 0 ? null : string.Join(',', addresses));
    }

    /// <summary>A <c>DnsResponseData</c>: the query it answers and its answers (CNAMEs are names, not addresses).</summary>
    private static void Response(JsonNode r, ref string? question, List<string> addresses)
    {
        if (r.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var query = r.Get("query_data") ?? r.Get("dns_query_data") ?? r.Get("queryData");
        question ??= query?.Str("query") ?? query?.Str("name");
        if ((r.Get("dns_answer") ?? r.Get("dnsAnswer")) is { ValueKind: JsonValueKind.Array } answers)
        {
            foreach (var a in answers.EnumerateArray())
            {
                Add(addresses, a.Str("answer"));
            }
        }
    }

    private static void Add(List<string> addresses, string? ip)
    {
        if (ip is not null && addresses.Count < MaxAnswers && System.Net.IPAddress.TryParse(ip, out _))
        {
            addresses.Add(ip);
        }
    }
}
