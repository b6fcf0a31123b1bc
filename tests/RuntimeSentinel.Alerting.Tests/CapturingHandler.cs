using System.Net;

namespace RuntimeSentinel.Alerting.Tests;

/// <summary>
/// The HTTP endpoint of the HTTP sinks, in process: records each request (path, body, headers) and answers 200. The
/// sinks build and send their real requests; no port, no listener, nothing to wait for.
/// </summary>
internal sealed class CapturingHandler : HttpMessageHandler
{
    private readonly List<Request> _requests = [];

    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>A client for a sink; the handler outlives it.</summary>
    public HttpClient Client() => new(this, disposeHandler: false);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        lock (_requests)
        {
            _requests.Add(new Request(request.Method, request.RequestUri!, body, headers));
        }

        return new HttpResponseMessage(HttpStatusCode.OK);
    }

    internal sealed record Request(HttpMethod Method, Uri Uri, string Body, Dictionary<string, string> Headers);
}
