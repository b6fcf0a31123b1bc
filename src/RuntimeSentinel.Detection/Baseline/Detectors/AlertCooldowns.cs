using RuntimeSentinel.Detection.Workloads;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// When each item of a workload last alerted: the same item does not alert again within
/// <see cref="DetectionOptions.AlertCooldown"/>. Bounded by <see cref="DetectionOptions.MaxItemsPerFeature"/>.
/// </summary>
internal sealed class AlertCooldowns(DetectionOptions options)
{
    private readonly Dictionary<(Feature, FeatureKey), DateTimeOffset> _lastAlerted = new();

    /// <summary>Findings not reported because the same item alerted within the cooldown.</summary>
    public long Suppressed { get; set; }

    public int Count => _lastAlerted.Count;

    public void Clear() => _lastAlerted.Clear();

    public void Remove(Feature f, in FeatureKey key) => _lastAlerted.Remove((f, key));

    /// <summary>True when the item alerted within the cooldown (counted); otherwise notes that it alerts now.</summary>
    public bool IsCoolingDown(Feature f, in FeatureKey key, DateTimeOffset now)
    {
        var k = (f, key);
        if (_lastAlerted.TryGetValue(k, out var last) && now - last < options.AlertCooldown)
        {
            Suppressed++;
            return true;
        }

        if (_lastAlerted.Count >= options.MaxItemsPerFeature)
        {
            // Bounded like everything else per workload: forget cooldowns that have expired, or all if none has.
            var expired = _lastAlerted.Where(kv => now - kv.Value >= options.AlertCooldown).Select(kv => kv.Key).ToList();
            if (expired.Count == 0)
            {
                _lastAlerted.Clear();
            }

            foreach (var x in expired)
            {
                _lastAlerted.Remove(x);
            }
        }

        _lastAlerted[k] = now;
        return false;
    }

    /// <param name="unsafeCooldown">Cooldowns to leave out (alerts not yet delivered; see <see cref="WorkloadBaseline"/>).</param>
    public void WriteState(StateWriter w, Func<Feature, FeatureKey, bool>? unsafeCooldown)
    {
        var cooldowns = unsafeCooldown is null ? _lastAlerted.ToList() : _lastAlerted.Where(kv => !unsafeCooldown(kv.Key.Item1, kv.Key.Item2)).ToList();
        w.Count(cooldowns.Count);
        foreach (var ((feature, key), at) in cooldowns)
        {
            w.Byte((byte)feature);
            FeatureKeyState.Write(w, key);
            w.Time(at);
        }
    }

    public void ReadState(StateReader r)
    {
        var featureCount = Enum.GetValues<Feature>().Length;
        var cooldowns = r.Count(options.MaxItemsPerFeature, "cooldowns");
        for (var i = 0; i < cooldowns; i++)
        {
            var feature = r.Byte();
            if (feature >= featureCount)
            {
                throw new CheckpointRejectedException($"cooldown of unknown feature {feature}");
            }

            var key = FeatureKeyState.Read(r);
            _lastAlerted[((Feature)feature, key)] = r.Time("alerted_at");
        }
    }
}
