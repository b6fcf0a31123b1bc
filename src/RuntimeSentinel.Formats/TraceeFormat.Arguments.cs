using System.Text.Json;
using RuntimeSentinel.Core.Text;

namespace RuntimeSentinel.Formats;

/// <summary>Tracee's event arguments: by name in either shape, and what the decoder reads from them.</summary>
internal sealed partial class TraceeFormat
{
    /// <summary>An event's arguments by name (when a name repeats, the last counts); reused from event to event.</summary>
    private sealed class Arguments
    {
        private readonly List<KeyValuePair<string, JsonNode>> _items = [];

        public void Clear() => _items.Clear();

        public void Set(string name, JsonNode value) => _items.Add(KeyValuePair.Create(name, value));

        public bool TryGetValue(string name, out JsonNode value)
        {
            for (var i = _items.Count - 1; i >= 0; i--)
            {
                if (_items[i].Key == name)
                {
                    value = _items[i].Value;
                    return true;
                }
            }

            value = default;
            return false;
        }
    }

    /// <summary>Arguments by name: legacy <c>args[{name, value}]</c>, v1beta1 <c>data[{name, str|int|...}]</c> or <c>data{}</c>.</summary>
    private static Arguments Args(JsonNode root, bool legacy, Arguments result)
    {
        result.Clear();
        var list = legacy ? root.Get("args") : root.Get("data");
        if (list is { ValueKind: JsonValueKind.Array } arr)
        {
            foreach (var a in arr.EnumerateArray())
            {
                if (a.Str("name") is not { } n)
                {
                    continue;
                }

                foreach (var p in a.EnumerateObject())
                {
                    if (p.Name != "name" && p.Name != "type")
                    {
                        result.Set(n, p.Value);
                        break;
                    }
                }
            }
        }
        else if (list is { ValueKind: JsonValueKind.Object } obj)
        {
            foreach (var p in obj.EnumerateObject())
            {
                result.Set(p.Name, p.Value);
            }
        }

        return result;
    }

    private static string? Arg(Arguments args, string name) =>
        args.TryGetValue(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => Json.NullIfEmpty(v.GetString()),
            JsonValueKind.Number => v.GetRawText(),
            JsonValueKind.Object => v.Str("value"),
            _ => null,
        } : null;

    private string? ArgList(Arguments args, string name)
    {
        if (!args.TryGetValue(name, out var v))
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Object && v.Get("value") is { } inner)
        {
            v = inner;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            return Arg(args, name);
        }

        // A process's argv repeats in every event it sends: joined once per distinct list.
        return _argLists.GetOrAdd(v.Utf8, v, JoinFactory);
    }

    private static readonly Utf8Factory<JsonNode, string> JoinFactory = static (_, list) => Join(list);

    private static string Join(JsonNode list)
    {
        var items = new List<string>();
        foreach (var x in list.EnumerateArray())
        {
            items.Add(x.ToString());
        }

        return string.Join(' ', items);
    }

    /// <summary>The DNS argument of the event, whichever of Tracee's versions wrote it (<see cref="TraceeDns"/>).</summary>
    private TraceeDns.Packet Dns(Arguments args)
    {
        foreach (var key in TraceeDns.ArgumentNames)
        {
            if (args.TryGetValue(key, out var v))
            {
                return _dns.Get(v);
            }
        }

        return TraceeDns.Packet.None;
    }
}
