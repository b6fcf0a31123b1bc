using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RuntimeSentinel.TestCommon.Siem;

/// <summary>What a document broke (errors) and which recommended attributes it left out (information, not failure).</summary>
public sealed record SchemaReport(IReadOnlyList<string> Errors, IReadOnlyList<string> MissingRecommended)
{
    public bool Valid => Errors.Count == 0;

    public override string ToString() => string.Join("\n", Errors);
}

/// <summary>
/// Checks a JSON document against an OCSF event class resolved from the schema source (<see cref="OcsfSchema"/>):
/// every attribute is one the class (plus the profiles declared in <c>metadata.profiles</c>) defines, at every depth;
/// attributes of a profile the document did not declare are refused; required attributes are present; values have
/// their attribute's type (objects recursively; scalar types down to their base type, with the types' patterns, length
/// limits and ranges); arrays are arrays and nothing else is; enum values are listed, and a sibling caption matches its
/// id's; objects meet their <c>at_least_one</c>/<c>just_one</c> constraints; no deprecated attribute is used; and each
/// observable points at a value of the document, with the observable type of the attribute it names.
/// </summary>
public sealed class OcsfValidator(OcsfSchema schema)
{
    private static readonly Dictionary<string, Regex> Patterns = new(StringComparer.Ordinal);

    public SchemaReport Validate(JsonElement document, string className)
    {
        var run = new Run(schema);
        if (document.ValueKind != JsonValueKind.Object)
        {
            return new SchemaReport(["$: an event is a JSON object"], []);
        }

        var profiles = new List<string>();
        if (document.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("profiles", out var declared) && declared.ValueKind == JsonValueKind.Array)
        {
            foreach (var p in declared.EnumerateArray())
            {
                if (p.ValueKind == JsonValueKind.String && schema.HasProfile(p.GetString()!))
                {
                    profiles.Add(p.GetString()!);
                }
                else
                {
                    run.Errors.Add($"metadata.profiles: '{p}' is not a profile of the schema");
                }
            }
        }

        run.Profiles = profiles;
        var type = schema.Class(className, profiles);
        run.Object(document, type, "");

        // The server's rule for the class's type: type_uid = class_uid * 100 + activity_id.
        if (document.TryGetProperty("type_uid", out var typeUid) && typeUid.TryGetInt64(out var t)
            && document.TryGetProperty("class_uid", out var classUid) && classUid.TryGetInt64(out var c)
            && document.TryGetProperty("activity_id", out var activityId) && activityId.TryGetInt64(out var a) && t != (c * 100) + a)
        {
            run.Errors.Add($"type_uid: {t} is not class_uid × 100 + activity_id ({(c * 100) + a})");
        }

        run.Observables(document, type);
        return new SchemaReport(run.Errors, run.Recommended);
    }

    private sealed class Run(OcsfSchema schema)
    {
        public List<string> Errors { get; } = [];

        public List<string> Recommended { get; } = [];

        public List<string> Profiles { get; set; } = [];

        private static string At(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

        public void Object(JsonElement e, OcsfType type, string path)
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                Errors.Add($"{Show(path)}: expected a {type.Name} object, got {e.ValueKind}");
                return;
            }

            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                var at = At(path, p.Name);
                present.Add(p.Name);
                if (!type.Attributes.TryGetValue(p.Name, out var attr))
                {
                    Errors.Add($"{at}: '{p.Name}' is not an attribute of {type.Name}{(path.Length == 0 ? " (nor of a declared profile)" : "")}");
                    continue;
                }

                if (attr.Profile is { } profile && !Profiles.Contains(profile))
                {
                    Errors.Add($"{at}: belongs to profile '{profile}', which metadata.profiles does not declare");
                }

                if (attr.IsDeprecated)
                {
                    Errors.Add($"{at}: deprecated ({(string?)attr.Definition["@deprecated"]?["message"]})");
                }

                Value(p.Value, attr, at);
            }

            foreach (var attr in type.Attributes.Values)
            {
                var usable = attr.Profile is null || Profiles.Contains(attr.Profile);
                if (usable && !present.Contains(attr.Name) && !attr.IsDeprecated)
                {
                    if (attr.Requirement == "required")
                    {
                        Errors.Add($"{At(path, attr.Name)}: required by {type.Name}, missing");
                    }
                    else if (attr.Requirement == "recommended")
                    {
                        Recommended.Add($"{type.Name}.{attr.Name}");
                    }
                }

                // An enum id and its sibling caption must agree (Other, 99, carries a caption of the source's own).
                if (attr.Enum is { } en && attr.Sibling is { } sibling && e.TryGetProperty(attr.Name, out var id) && id.ValueKind == JsonValueKind.Number
                    && e.TryGetProperty(sibling, out var caption) && caption.ValueKind == JsonValueKind.String && id.GetRawText() != "99"
                    && en[id.GetRawText()]?["caption"] is JsonValue expected && (string?)expected != caption.GetString())
                {
                    Errors.Add($"{At(path, sibling)}: '{caption.GetString()}' is not the caption of {attr.Name} {id.GetRawText()} ('{(string?)expected}')");
                }
            }

            Constraints(type, present, path);
        }

        private void Constraints(OcsfType type, HashSet<string> present, string path)
        {
            if (type.Constraints?["at_least_one"] is JsonArray any && any.Count > 0 && !any.Any(a => present.Contains((string)a!)))
            {
                Errors.Add($"{Show(path)}: {type.Name} needs at least one of {string.Join(", ", any.Select(a => (string)a!))}");
            }

            if (type.Constraints?["just_one"] is JsonArray one && one.Count(a => present.Contains((string)a!)) != 1)
            {
                Errors.Add($"{Show(path)}: {type.Name} needs exactly one of {string.Join(", ", one.Select(a => (string)a!))}");
            }
        }

        private void Value(JsonElement v, OcsfAttribute attr, string path)
        {
            if (attr.IsArray)
            {
                if (v.ValueKind != JsonValueKind.Array)
                {
                    Errors.Add($"{path}: expected an array of {attr.Type}, got {v.ValueKind}");
                    return;
                }

                var n = 0;
                foreach (var item in v.EnumerateArray())
                {
                    Single(item, attr, $"{path}[{n++}]");
                }

                return;
            }

            if (v.ValueKind == JsonValueKind.Array)
            {
                Errors.Add($"{path}: {attr.Type} is not an array attribute");
                return;
            }

            Single(v, attr, path);
        }

        private void Single(JsonElement v, OcsfAttribute attr, string path)
        {
            var type = attr.Type;
            if (type == "object")
            {
                if (v.ValueKind != JsonValueKind.Object)
                {
                    Errors.Add($"{path}: expected an object, got {v.ValueKind}");
                }

                return; // the open object (unmapped): anything inside
            }

            if (schema.IsObject(type))
            {
                Object(v, schema.Object(type), path);
                return;
            }

            Scalar(v, type, path);
            if (attr.Enum is { } en && v.ValueKind is JsonValueKind.Number or JsonValueKind.String)
            {
                var key = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
                if (!en.ContainsKey(key))
                {
                    Errors.Add($"{path}: {key} is not a value of its enum ({string.Join(", ", en.Select(x => x.Key))})");
                }
            }
        }

        /// <summary>A scalar against its type and every type it derives from (e.g. <c>port_t</c> → <c>integer_t</c>).</summary>
        private void Scalar(JsonElement v, string typeName, string path)
        {
            var chain = new List<JsonObject>();
            for (var t = typeName; t is not null;)
            {
                if (schema.Types[t] is not JsonObject def)
                {
                    Errors.Add($"{path}: type '{t}' is neither an object nor a type of the schema");
                    return;
                }

                chain.Add(def);
                t = (string?)def["type"];
                if (chain.Count > 10)
                {
                    Errors.Add($"{path}: type '{typeName}' derives in a loop");
                    return;
                }
            }

            var baseType = chain.Count > 1 ? (string?)chain[^2]["type"] ?? typeName : typeName;
            var ok = baseType switch
            {
                "string_t" => v.ValueKind == JsonValueKind.String,
                "integer_t" => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out _),
                "long_t" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _),
                "float_t" => v.ValueKind == JsonValueKind.Number,
                "boolean_t" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
                "json_t" => true,
                _ => false,
            };
            if (!ok)
            {
                Errors.Add($"{path}: {v.GetRawText()} is not a {typeName}{(baseType != typeName ? $" ({baseType})" : "")}");
                return;
            }

            foreach (var def in chain)
            {
                if ((string?)def["regex"] is { } regex && v.ValueKind == JsonValueKind.String && !Pattern(regex).IsMatch(v.GetString()!))
                {
                    Errors.Add($"{path}: '{v.GetString()}' does not match the pattern of {typeName}");
                }

                if ((int?)def["max_len"] is { } max && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > max)
                {
                    Errors.Add($"{path}: longer than {max} characters ({typeName})");
                }

                if (def["range"] is JsonArray { Count: 2 } range && v.ValueKind == JsonValueKind.Number
                    && (v.GetDouble() < (double)range[0]! || v.GetDouble() > (double)range[1]!))
                {
                    Errors.Add($"{path}: {v.GetRawText()} is outside {typeName}'s range [{range[0]}, {range[1]}]");
                }
            }
        }

        /// <summary>Each observable names a scalar of this document, carries its value and the observable type of that attribute.</summary>
        public void Observables(JsonElement doc, OcsfType type)
        {
            if (!doc.TryGetProperty("observables", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            var n = 0;
            foreach (var o in list.EnumerateArray())
            {
                var at = $"observables[{n++}]";
                if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    continue; // the structural checks above report it
                }

                var (value, attr) = Resolve(doc, type, name.GetString()!);
                if (attr is null)
                {
                    Errors.Add($"{at}.name: '{name.GetString()}' names no attribute value of the document");
                    continue;
                }

                if (o.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String
                    && (value!.Value.ValueKind == JsonValueKind.String ? value.Value.GetString() : value.Value.GetRawText()) != v.GetString())
                {
                    Errors.Add($"{at}.value: '{v.GetString()}' is not the value at {name.GetString()}");
                }

                var expected = attr.Observable ?? TypeObservable(attr.Type);
                if (o.TryGetProperty("type_id", out var id) && id.ValueKind == JsonValueKind.Number && expected is { } ex && id.GetRawText() != ex.ToString(CultureInfo.InvariantCulture))
                {
                    Errors.Add($"{at}.type_id: {id.GetRawText()}, but {name.GetString()} is observable type {ex}");
                }
            }
        }

        private int? TypeObservable(string typeName)
        {
            for (var t = typeName; t is not null && schema.Types[t] is JsonObject def; t = (string?)def["type"])
            {
                if ((int?)def["observable"] is { } id)
                {
                    return id;
                }
            }

            return null;
        }

        /// <summary>Follows <c>a.b[2].c</c> through the document and the schema together.</summary>
        private (JsonElement? Value, OcsfAttribute? Attribute) Resolve(JsonElement doc, OcsfType type, string path)
        {
            var current = doc;
            var currentType = type;
            OcsfAttribute? attr = null;
            foreach (var segment in path.Split('.'))
            {
                var bracket = segment.IndexOf('[', StringComparison.Ordinal);
                var name = bracket >= 0 ? segment[..bracket] : segment;
                if (currentType is null || current.ValueKind != JsonValueKind.Object || !currentType.Attributes.TryGetValue(name, out attr) || !current.TryGetProperty(name, out current))
                {
                    return (null, null);
                }

                if (bracket >= 0)
                {
                    if (!int.TryParse(segment[(bracket + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var index) || current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                    {
                        return (null, null);
                    }

                    current = current[index];
                }

                currentType = schema.IsObject(attr.Type) && attr.Type != "object" ? schema.Object(attr.Type) : null;
            }

            return current.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? (null, null) : (current, attr);
        }

        private static Regex Pattern(string regex)
        {
            lock (Patterns)
            {
                if (!Patterns.TryGetValue(regex, out var r))
                {
                    r = new Regex(regex, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
                    Patterns[regex] = r;
                }

                return r;
            }
        }

        private static string Show(string path) => path.Length == 0 ? "$" : path;
    }
}
