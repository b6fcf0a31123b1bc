using System.Text;
using RuntimeSentinel.Core.Events;

namespace RuntimeSentinel.Formats.Native;

/// <summary>
/// Checks an event a sensor format built against the rules the native decoder applies to schema v1 (sizes, addresses,
/// ports, labels, each kind's required fields), so that whatever a sensor sent, what leaves a decoder is what a native
/// message could have carried. Replaces writing the event as native JSON and decoding it again: the same verdicts,
/// without a second parse per message. Not thread-safe (it keeps a bounded cache of addresses already checked).
/// </summary>
internal sealed class EventValidator(EventDecoderOptions? options = null)
{
    private const int MaxCachedAddresses = 4096;

    private readonly EventDecoderOptions _o = options ?? EventDecoderOptions.Default;
    private readonly Dictionary<string, bool> _addresses = new(StringComparer.Ordinal);

    public bool Validate(in RuntimeEvent e, out DecodeError error)
    {
        var w = e.Workload;
        var p = e.Process;
        var n = e.Net;
        if (!Fits("node", e.Node, _o.MaxStringBytes, out error)
            || !Fits("workload.cluster", w.Cluster, _o.MaxStringBytes, out error)
            || !Fits("workload.namespace", w.Namespace, _o.MaxStringBytes, out error)
            || !Fits("workload.pod", w.Pod, _o.MaxStringBytes, out error)
            || !Fits("workload.container", w.Container, _o.MaxStringBytes, out error)
            || !Fits("workload.container_id", w.ContainerId, _o.MaxStringBytes, out error)
            || !Fits("workload.image", w.Image, _o.MaxStringBytes, out error)
            || !Fits("workload.image_digest", w.ImageDigest, _o.MaxStringBytes, out error)
            || !Fits("workload.owner_kind", w.OwnerKind, _o.MaxStringBytes, out error)
            || !Fits("workload.owner_name", w.OwnerName, _o.MaxStringBytes, out error)
            || !LabelsFit("workload.labels", w.Labels, out error)
            || !Fits("process.exe", p.Exe, _o.MaxStringBytes, out error)
            || !Fits("process.args", p.Args, _o.MaxArgsBytes, out error)
            || !Fits("process.parent_exe", p.ParentExe, _o.MaxStringBytes, out error)
            || !Fits("syscall.name", e.SyscallName, 64, out error)
            || !Fits("file.path", e.FilePath, _o.MaxStringBytes, out error)
            || !Fits("file.flags", e.FileFlags, 256, out error)
            || !Fits("net.protocol", n.Protocol, 16, out error)
            || !IsAddress("net.local_ip", n.LocalIp, out error)
            || !IsAddress("net.remote_ip", n.RemoteIp, out error)
            || !IsPort("net.local_port", n.LocalPort, out error)
            || !IsPort("net.remote_port", n.RemotePort, out error)
            || !Fits("dns.name", e.DnsName, 254, out error)
            || !LabelsFit("labels", e.Labels, out error))
        {
            return false;
        }

        if (n.BytesIn < 0 || n.BytesOut < 0)
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, n.BytesIn < 0 ? "net.bytes_in" : "net.bytes_out", "must be >= 0");
            return false;
        }

        if (!RequiredFields.Identifies(w))
        {
            error = new DecodeError(DecodeErrorCode.MissingField, "workload", "needs at least one of pod, container_id, image or owner_name");
            return false;
        }

        var missing = RequiredFields.Missing(e);
        if (missing is not null)
        {
            error = new DecodeError(DecodeErrorCode.MissingField, missing, $"required for {e.Kind.ToWire()}");
            return false;
        }

        error = default;
        return true;
    }

    private static bool Fits(string field, string? value, int maxBytes, out DecodeError error)
    {
        // Most values are ASCII: a string of at most maxBytes / 3 characters fits whatever it holds.
        if (value is not null && value.Length > maxBytes / 3 && Encoding.UTF8.GetByteCount(value) > maxBytes)
        {
            error = new DecodeError(DecodeErrorCode.FieldTooLarge, field, $"{Encoding.UTF8.GetByteCount(value)} bytes exceeds the {maxBytes}-byte limit");
            return false;
        }

        error = default;
        return true;
    }

    private bool LabelsFit(string field, LabelSet labels, out DecodeError error)
    {
        if (labels.Count > _o.MaxLabels)
        {
            error = new DecodeError(DecodeErrorCode.FieldTooLarge, field, $"too many labels (limit {_o.MaxLabels})");
            return false;
        }

        foreach (var (key, value) in labels.Items)
        {
            if (key.Length > 317 || !Fits(field, value, _o.MaxStringBytes, out _))
            {
                error = new DecodeError(DecodeErrorCode.FieldTooLarge, field, $"too many bytes in label '{(key.Length > 64 ? key[..64] + "…" : key)}'");
                return false;
            }
        }

        error = default;
        return true;
    }

    private bool IsAddress(string field, string? ip, out DecodeError error)
    {
        error = default;
        if (ip is null)
        {
            return true;
        }

        var valid = IsIpAddress(ip);
        if (!valid)
        {
            error = new DecodeError(DecodeErrorCode.InvalidValue, field, $"'{(ip.Length > 64 ? ip[..64] + "…" : ip)}' is not an IP address");
        }

        return valid;
    }

    /// <summary>Whether a string is an IP address, parsed once per distinct string (sensor decoders ask too).</summary>
    public bool IsIpAddress(string? ip)
    {
        if (ip is null)
        {
            return false;
        }

        if (!_addresses.TryGetValue(ip, out var valid))
        {
            valid = ip.Length <= 64 && System.Net.IPAddress.TryParse(ip, out _);
            if (_addresses.Count >= MaxCachedAddresses)
            {
                _addresses.Clear(); // bounded: a flood of unique addresses costs a parse each, never memory
            }

            _addresses[ip] = valid;
        }

        return valid;
    }

    private static bool IsPort(string field, int port, out DecodeError error)
    {
        error = default;
        if (port is >= -1 and <= 65535)
        {
            return true;
        }

        error = new DecodeError(DecodeErrorCode.InvalidValue, field, $"{port} is outside 0-65535");
        return false;
    }
}
