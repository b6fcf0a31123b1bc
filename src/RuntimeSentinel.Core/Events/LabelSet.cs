namespace RuntimeSentinel.Core.Events;

/// <summary>
/// An immutable, ordered set of string labels. Instances are shared: the decoder interns a label object by its
/// raw bytes, so the many events of one pod point at the same <see cref="LabelSet"/>.
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>
{
    private readonly KeyValuePair<string, string>[] _items;

    public static LabelSet Empty { get; } = new([]);

    public LabelSet(KeyValuePair<string, string>[] items) => _items = items;

    public static LabelSet Of(params (string Key, string Value)[] items) =>
        items.Length == 0 ? Empty : new LabelSet(items.Select(i => KeyValuePair.Create(i.Key, i.Value)).ToArray());

    public int Count => _items.Length;

    public ReadOnlySpan<KeyValuePair<string, string>> Items => _items;

    public string? this[string key]
    {
        get
        {
            foreach (var kv in _items)
            {
                if (kv.Key == key)
                {
                    return kv.Value;
                }
            }

            return null;
        }
    }

    public bool Equals(LabelSet? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other._items.Length != _items.Length)
        {
            return false;
        }

        for (var i = 0; i < _items.Length; i++)
        {
            if (_items[i].Key != other._items[i].Key || _items[i].Value != other._items[i].Value)
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as LabelSet);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var kv in _items)
        {
            h.Add(kv.Key);
            h.Add(kv.Value);
        }

        return h.ToHashCode();
    }

    public override string ToString() => string.Join(",", _items.Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>Event labels with a meaning to the pipeline.</summary>
public static class EventLabels
{
    /// <summary>Set on events that report state found when the sensor started (e.g. Tetragon's procFS scan): their time is not event time.</summary>
    public const string Inventory = "inventory";

    /// <summary>On a process that is its container's PID 1 (the entrypoint): its exit is the container stopping.</summary>
    public const string ContainerInit = "container.init";

    /// <summary>sensor_alert: the rule that fired (Falco rule, Tracee signature).</summary>
    public const string SensorRule = "sensor.rule";

    /// <summary>sensor_alert: the sensor's priority for it (Falco: Emergency … Debug).</summary>
    public const string SensorPriority = "sensor.priority";

    /// <summary>Which sensor an event came from (<c>tetragon</c>, <c>falco</c>, ...).</summary>
    public const string Source = "source";

    /// <summary>Ground truth in generated and replayed data: <c>normal</c> or <c>attack:&lt;name&gt;</c>.</summary>
    public const string Scenario = "scenario";
}
