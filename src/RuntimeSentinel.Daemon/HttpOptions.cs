using System.Net;
using Microsoft.Extensions.Options;

namespace RuntimeSentinel.Daemon;

/// <summary>Where /metrics, /healthz and /readyz are served (config section <c>Http</c>).</summary>
internal sealed class HttpOptions
{
    public const string SectionName = "Http";

    /// <summary><c>host:port</c>; port 0 picks a free port (tests). Use <c>0.0.0.0:9464</c> in a pod.</summary>
    public string Listen { get; set; } = "127.0.0.1:9464";

    /// <summary>
    /// Read-only admin endpoints (<c>/workloads</c>): loopback by default, reached with <c>kubectl port-forward</c>.
    /// Separate from <see cref="Listen"/>, which Prometheus scrapes. Empty: no admin endpoints.
    /// </summary>
    public string AdminListen { get; set; } = "127.0.0.1:9465";

    /// <summary>How long the host waits for ingestion, detection and sinks to drain on stop. Keep below the pod's grace period.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    public static bool TryParseListen(string value, out IPEndPoint? endpoint)
    {
        endpoint = null;
        var i = value.LastIndexOf(':');
        if (i <= 0 || !int.TryParse(value.AsSpan(i + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        var host = value[..i].Trim('[', ']');
        if (host == "localhost")
        {
            host = "127.0.0.1";
        }

        if (!IPAddress.TryParse(host, out var ip))
        {
            return false;
        }

        endpoint = new IPEndPoint(ip, port);
        return true;
    }
}

internal sealed class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpOptions o)
    {
        var errors = new List<string>();
        if (!HttpOptions.TryParseListen(o.Listen, out _))
        {
            errors.Add($"Http:Listen '{o.Listen}' must be ip:port (e.g. 127.0.0.1:9464 or 0.0.0.0:9464).");
        }

        if (!string.IsNullOrEmpty(o.AdminListen) && !HttpOptions.TryParseListen(o.AdminListen, out _))
        {
            errors.Add($"Http:AdminListen '{o.AdminListen}' must be ip:port (e.g. 127.0.0.1:9465), or empty for none.");
        }
        else if (!string.IsNullOrEmpty(o.AdminListen) && o.AdminListen == o.Listen && !o.Listen.EndsWith(":0", StringComparison.Ordinal))
        {
            errors.Add("Http:AdminListen must differ from Http:Listen: /workloads must not be served where metrics are scraped.");
        }

        if (o.ShutdownTimeout <= TimeSpan.Zero || o.ShutdownTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("Http:ShutdownTimeout must be between 0 and 5 minutes.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
