using System.Globalization;
using System.Net;
using System.Text.Json;

namespace RuntimeSentinel.TestCommon.Siem;

/// <summary>One ECS field as <c>@elastic/ecs</c> defines it (reduced by tests/ecs/fields.mjs).</summary>
public sealed record EcsField(string Type, bool Array, bool Required, string? ObjectType, IReadOnlyList<string>? Allowed, IReadOnlyDictionary<string, IReadOnlyList<string>>? ExpectedEventTypes);

/// <summary>The ECS field table of one release, by flat name (<c>process.parent.pid</c>).</summary>
public sealed class EcsSchema(string version, IReadOnlyDictionary<string, EcsField> fields)
{
    public string Version { get; } = version;

    public IReadOnlyDictionary<string, EcsField> Fields { get; } = fields;

    /// <summary>Reads the JSON tests/ecs/fields.mjs prints.</summary>
    public static EcsSchema Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var fields = new Dictionary<string, EcsField>(StringComparer.Ordinal);
        foreach (var f in doc.RootElement.GetProperty("fields").EnumerateObject())
        {
            var v = f.Value;
            IReadOnlyList<string>? Strings(JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetString()!).ToList() : null;
            var expected = v.GetProperty("expected_event_types");
            fields[f.Name] = new EcsField(
                v.GetProperty("type").GetString()!, v.GetProperty("array").GetBoolean(), v.GetProperty("required").GetBoolean(),
                v.GetProperty("object_type").GetString(), Strings(v.GetProperty("allowed")),
                expected.ValueKind == JsonValueKind.Object ? expected.EnumerateObject().ToDictionary(p => p.Name, p => Strings(p.Value)!) : null);
        }

        return new EcsSchema(doc.RootElement.GetProperty("version").GetString()!, fields);
    }
}

/// <summary>
/// Checks an ECS document against the field table: every field outside the custom namespace is an ECS field, with a
/// value of its type (keyword: string; long: integer; date: ISO 8601 or epoch milliseconds; ip: an address; …), an
/// array exactly where ECS normalises the field to one, a listed value where ECS lists them, <c>event.type</c> values
/// that the document's <c>event.category</c> values expect, and the required fields present.
/// </summary>
public sealed class EcsValidator(EcsSchema schema, string customNamespace)
{
    public SchemaReport Validate(JsonElement document)
    {
        var errors = new List<string>();
        var present = new HashSet<string>(StringComparer.Ordinal);
        if (document.ValueKind != JsonValueKind.Object)
        {
            return new SchemaReport(["$: a document is a JSON object"], []);
        }

        foreach (var p in document.EnumerateObject())
        {
            if (p.Name != customNamespace)
            {
                Walk(p.Value, p.Name, errors, present);
            }
        }

        foreach (var (name, f) in schema.Fields)
        {
            if (f.Required && !present.Contains(name))
            {
                errors.Add($"{name}: required by ECS, missing");
            }
        }

        EventTypes(document, errors);
        return new SchemaReport(errors, []);
    }

    private void Walk(JsonElement e, string path, List<string> errors, HashSet<string> present)
    {
        if (schema.Fields.TryGetValue(path, out var field))
        {
            present.Add(path);
            Leaf(field, path, e, errors);
            return;
        }

        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                Walk(p.Value, $"{path}.{p.Name}", errors, present);
            }

            return;
        }

        errors.Add($"{path}: not an ECS {schema.Version} field (custom fields belong under {customNamespace}.*)");
    }

    private static void Leaf(EcsField f, string path, JsonElement v, List<string> errors)
    {
        if (f.Type is "object" or "flattened" or "nested")
        {
            Container(f, path, v, errors);
            return;
        }

        if (v.ValueKind == JsonValueKind.Array)
        {
            if (!f.Array)
            {
                errors.Add($"{path}: an array, but ECS defines a single {f.Type}");
            }

            foreach (var item in v.EnumerateArray())
            {
                Scalar(f, path, item, errors);
            }

            return;
        }

        if (f.Array)
        {
            errors.Add($"{path}: ECS normalises this field to an array");
        }

        Scalar(f, path, v, errors);
    }

    private static void Container(EcsField f, string path, JsonElement v, List<string> errors)
    {
        if (f.Type == "nested")
        {
            if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Object))
            {
                errors.Add($"{path}: nested: an array of objects");
            }

            return;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{path}: {v.ValueKind}, but ECS defines an {f.Type}");
            return;
        }

        if (f.Type == "object" && f.ObjectType == "keyword")
        {
            foreach (var p in v.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.String))
            {
                errors.Add($"{path}.{p.Name}: {path} holds keyword values");
            }
        }
    }

    private static void Scalar(EcsField f, string path, JsonElement v, List<string> errors)
    {
        var ok = f.Type switch
        {
            "keyword" or "constant_keyword" or "wildcard" or "match_only_text" or "text" => v.ValueKind == JsonValueKind.String,
            "long" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _),
            "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out _),
            "float" or "double" or "scaled_float" or "half_float" => v.ValueKind == JsonValueKind.Number,
            "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
            "date" => (v.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
                || (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _)),
            "ip" => v.ValueKind == JsonValueKind.String && IPAddress.TryParse(v.GetString(), out _),
            "geo_point" => v.ValueKind is JsonValueKind.Object or JsonValueKind.String,
            _ => false,
        };
        if (!ok)
        {
            errors.Add($"{path}: {v.GetRawText()} is not an ECS {f.Type}");
            return;
        }

        if (f.Allowed is { } allowed && v.ValueKind == JsonValueKind.String && !allowed.Contains(v.GetString()!))
        {
            errors.Add($"{path}: '{v.GetString()}' is not one of ECS's values ({string.Join(", ", allowed)})");
        }
    }

    /// <summary>Each event.type value must be one some event.category value of the document expects.</summary>
    private void EventTypes(JsonElement doc, List<string> errors)
    {
        if (!schema.Fields.TryGetValue("event.category", out var category) || category.ExpectedEventTypes is not { } expected
            || !doc.TryGetProperty("event", out var ev) || ev.ValueKind != JsonValueKind.Object
            || !ev.TryGetProperty("category", out var cats) || !ev.TryGetProperty("type", out var types))
        {
            return;
        }

        static IEnumerable<string> Values(JsonElement e) =>
            e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)
            : e.ValueKind == JsonValueKind.String ? [e.GetString()!] : [];
        var allowed = Values(cats).SelectMany(c => expected.TryGetValue(c, out var t) ? t : []).ToHashSet(StringComparer.Ordinal);
        foreach (var t in Values(types).Where(t => !allowed.Contains(t)))
        {
            errors.Add($"event.type: '{t}' is not a type that event.category [{string.Join(", ", Values(cats))}] expects");
        }
    }
}
