using System.Text.Json.Nodes;

namespace RuntimeSentinel.TestCommon.Siem;

/// <summary>An attribute of a resolved OCSF class or object: the dictionary's definition merged with every level's.</summary>
public sealed record OcsfAttribute(string Name, JsonObject Definition)
{
    public string Type => (string?)Definition["type"] ?? throw new InvalidOperationException($"attribute '{Name}' has no type");

    public bool IsArray => (bool?)Definition["is_array"] ?? false;

    public string Requirement => (string?)Definition["requirement"] ?? "optional";

    /// <summary>The profile the attribute belongs to (it is allowed only when the event declares it); null: always allowed.</summary>
    public string? Profile => Definition["profile"] is JsonValue v ? (string?)v : null;

    public string? Sibling => (string?)Definition["sibling"];

    public JsonObject? Enum => Definition["enum"] as JsonObject;

    public bool IsDeprecated => Definition["@deprecated"] is JsonObject;

    /// <summary>The observable type id the attribute itself declares (a class's, object's or the dictionary's annotation).</summary>
    public int? Observable => (int?)Definition["observable"];
}

/// <summary>A resolved class or object: its attributes after <c>extends</c>, <c>$include</c> and the dictionary.</summary>
public sealed record OcsfType(string Name, string Caption, IReadOnlyDictionary<string, OcsfAttribute> Attributes, JsonObject? Constraints, int? Observable);

/// <summary>
/// The OCSF schema source (<c>dictionary.json</c>, <c>objects/</c>, <c>events/</c>, <c>profiles/</c>,
/// <c>categories.json</c>, <c>version.json</c>) resolved the way the OCSF server compiles it: a class or object takes its
/// parent's attributes (<c>extends</c>, recursively), then the attributes of what it <c>$include</c>s (a profile's
/// marked as that profile's), then its own, each merged key by key over the previous (enums add up, a later value
/// replaces an earlier one, <c>"profile": null</c> frees an attribute from its profile); every attribute finally rests
/// on the dictionary's definition (type, array, enum, sibling, deprecation). A class's <c>class_uid</c>,
/// <c>category_uid</c> and <c>type_uid</c> get the enums the server generates, and the observable's <c>type_id</c>
/// every observable id the schema declares.
/// </summary>
public sealed class OcsfSchema
{
    private readonly string _root;
    private readonly JsonObject _dictionary;
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Uid, string Caption)> _categories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OcsfType> _resolvedObjects = new(StringComparer.Ordinal);

    private OcsfSchema(string root)
    {
        _root = root;
        _dictionary = ReadObject("dictionary.json");
        Types = _dictionary["types"]?["attributes"] as JsonObject ?? throw new InvalidDataException("dictionary.json has no types.attributes");
        Version = (string?)ReadObject("version.json")["version"] ?? throw new InvalidDataException("version.json has no version");
        foreach (var (name, node) in ReadObject("categories.json")["attributes"] as JsonObject ?? [])
        {
            _categories[name] = ((int)node!["uid"]!, (string)node["caption"]!);
        }

        Load("objects", _objects);
        Load("events", _events);
        Load("profiles", _profiles);
        ObservableTypes = CollectObservables();
    }

    public string Version { get; }

    /// <summary>Scalar types (<c>string_t</c>, <c>ip_t</c>, …) by name, from the dictionary.</summary>
    public JsonObject Types { get; }

    /// <summary>Every observable type id the schema declares, with its caption where one is plain (types, dictionary attributes, objects).</summary>
    public IReadOnlyDictionary<int, string?> ObservableTypes { get; }

    public IEnumerable<string> ProfileNames => _profiles.Keys;

    public static OcsfSchema Load(string root) => new(root);

    public bool IsObject(string name) => _objects.ContainsKey(name);

    public OcsfType Object(string name)
    {
        lock (_resolvedObjects)
        {
            return ResolveObject(name);
        }
    }

    private OcsfType ResolveObject(string name)
    {
        if (!_resolvedObjects.TryGetValue(name, out var type))
        {
            var (attributes, constraints) = Merge(_objects, name, new HashSet<string>(StringComparer.Ordinal));
            type = Finish(name, (string?)_objects[name]["caption"] ?? name, attributes, constraints, (int?)_objects[name]["observable"]);
            if (name == "observable" && type.Attributes.TryGetValue("type_id", out var typeId))
            {
                var e = new JsonObject();
                foreach (var (id, caption) in ObservableTypes)
                {
                    e[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject { ["caption"] = caption };
                }

                typeId.Definition["enum"] = e;
            }

            _resolvedObjects[name] = type;
        }

        return type;
    }

    /// <summary>An event class with the attributes of the profiles the event declares added (their attributes become allowed).</summary>
    public OcsfType Class(string name, IEnumerable<string> profiles)
    {
        var (attributes, constraints) = Merge(_events, name, new HashSet<string>(StringComparer.Ordinal));
        foreach (var profile in profiles)
        {
            foreach (var (attr, node) in _profiles[profile]["attributes"] as JsonObject ?? [])
            {
                if (!attributes.ContainsKey(attr))
                {
                    var copy = (JsonObject)node!.DeepClone();
                    copy["profile"] = profile;
                    attributes[attr] = copy;
                }
            }
        }

        var def = _events[name];
        var category = Inherited(name, "category") ?? "other";
        var (categoryUid, categoryCaption) = _categories.TryGetValue(category, out var c) ? c : (0, "Other");
        var classUid = (categoryUid * 1000) + ((int?)def["uid"] ?? 0);
        var caption = (string?)def["caption"] ?? name;
        var type = Finish(name, caption, attributes, constraints, null);
        type.Attributes["class_uid"].Definition["enum"] = new JsonObject { [Key(classUid)] = new JsonObject { ["caption"] = caption } };
        type.Attributes["category_uid"].Definition["enum"] = new JsonObject { [Key(categoryUid)] = new JsonObject { ["caption"] = categoryCaption } };

        // type_uid = class_uid * 100 + activity_id, captioned "<class>: <activity>", as the server generates it.
        var types = new JsonObject();
        foreach (var (activity, node) in type.Attributes["activity_id"].Enum ?? [])
        {
            types[Key((classUid * 100) + int.Parse(activity, System.Globalization.CultureInfo.InvariantCulture))] = new JsonObject { ["caption"] = $"{caption}: {(string?)node!["caption"]}" };
        }

        type.Attributes["type_uid"].Definition["enum"] = types;
        return type;
    }

    public bool HasProfile(string name) => _profiles.ContainsKey(name);

    private static string Key(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private string? Inherited(string name, string key)
    {
        for (var def = _events[name]; ; def = _events[(string)def["extends"]!])
        {
            if ((string?)def[key] is { } value)
            {
                return value;
            }

            if (def["extends"] is null)
            {
                return null;
            }
        }
    }

    /// <summary>Attributes of a class or object from its <c>extends</c> chain and includes, before the dictionary.</summary>
    private (Dictionary<string, JsonObject> Attributes, JsonObject? Constraints) Merge(Dictionary<string, JsonObject> defs, string name, HashSet<string> seen)
    {
        if (!defs.TryGetValue(name, out var def))
        {
            throw new InvalidDataException($"OCSF: '{name}' is not defined");
        }

        if (!seen.Add(name))
        {
            throw new InvalidDataException($"OCSF: '{name}' extends itself");
        }

        var attributes = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        JsonObject? constraints = null;
        if ((string?)def["extends"] is { } parent)
        {
            (attributes, constraints) = Merge(defs, parent, seen);
        }

        var own = def["attributes"] as JsonObject ?? [];
        foreach (var include in own["$include"] as JsonArray ?? [])
        {
            var included = ReadObject((string)include!);
            var profile = (string?)included["meta"] == "profile" ? (string?)included["name"] : null;
            foreach (var (attr, node) in included["attributes"] as JsonObject ?? [])
            {
                var copy = (JsonObject)node!.DeepClone();
                if (profile is not null && !copy.ContainsKey("profile"))
                {
                    copy["profile"] = profile;
                }

                attributes[attr] = attributes.TryGetValue(attr, out var existing) ? DeepMerge(existing, copy) : copy;
            }
        }

        foreach (var (attr, node) in own)
        {
            if (attr != "$include")
            {
                var copy = (JsonObject)node!.DeepClone();
                attributes[attr] = attributes.TryGetValue(attr, out var existing) ? DeepMerge(existing, copy) : copy;
            }
        }

        return (attributes, def["constraints"] as JsonObject is { Count: > 0 } c ? (JsonObject)c.DeepClone() : constraints);
    }

    /// <summary>Rests each attribute on the dictionary's definition (descriptions dropped: they are not checked).</summary>
    private OcsfType Finish(string name, string caption, Dictionary<string, JsonObject> attributes, JsonObject? constraints, int? observable)
    {
        var dictionary = _dictionary["attributes"] as JsonObject ?? [];
        var result = new Dictionary<string, OcsfAttribute>(StringComparer.Ordinal);
        foreach (var (attr, node) in attributes)
        {
            var baseDef = dictionary[attr] is JsonObject d ? (JsonObject)d.DeepClone() : throw new InvalidDataException($"OCSF: {name}.{attr} is not in the dictionary");
            result[attr] = new OcsfAttribute(attr, DeepMerge(baseDef, node));
        }

        return new OcsfType(name, caption, result, constraints, observable);
    }

    /// <summary>Merges <paramref name="over"/> into <paramref name="under"/>: objects key by key, anything else replaced.</summary>
    internal static JsonObject DeepMerge(JsonObject under, JsonObject over)
    {
        foreach (var (key, value) in over)
        {
            if (value is JsonObject o && under[key] is JsonObject u)
            {
                DeepMerge(u, o);
            }
            else
            {
                under[key] = value?.DeepClone();
            }
        }

        return under;
    }

    private Dictionary<int, string?> CollectObservables()
    {
        var ids = new Dictionary<int, string?> { [0] = "Unknown", [99] = "Other" };
        foreach (var (_, t) in Types)
        {
            if ((int?)t!["observable"] is { } id)
            {
                ids[id] = (string?)t["caption"];
            }
        }

        foreach (var (_, a) in _dictionary["attributes"] as JsonObject ?? [])
        {
            if ((int?)a!["observable"] is { } id)
            {
                ids[id] = (string?)a["caption"];
            }
        }

        foreach (var def in _objects.Values.Concat(_events.Values))
        {
            if ((int?)def["observable"] is { } id)
            {
                ids[id] = (string?)def["caption"];
            }

            foreach (var (_, a) in def["attributes"] as JsonObject ?? [])
            {
                // An object's own annotation of one of its attributes: its caption is not a plain one.
                if (a is JsonObject ao && (int?)ao["observable"] is { } aid)
                {
                    ids.TryAdd(aid, null);
                }
            }

            foreach (var (_, v) in def["observables"] as JsonObject ?? [])
            {
                ids.TryAdd((int)v!, null);
            }
        }

        return ids;
    }

    private void Load(string folder, Dictionary<string, JsonObject> into)
    {
        var dir = Path.Combine(_root, folder);
        foreach (var file in Directory.EnumerateFiles(dir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var def = ReadObject(Path.GetRelativePath(_root, file));
            var name = (string?)def["name"] ?? throw new InvalidDataException($"{file} has no name");
            into[name] = def;
        }
    }

    private JsonObject ReadObject(string relative) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(_root, relative))) as JsonObject ?? throw new InvalidDataException($"{relative} is not a JSON object");
}
