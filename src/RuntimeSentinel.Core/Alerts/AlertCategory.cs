namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// One kind of alert: its wire name (<c>category</c> in <c>sentinel.alert/v1</c> and v2, suppression rules, runbook
/// links, Alertmanager's <c>alertname</c>), the severity and ATT&amp;CK technique it has unless something about the
/// finding says otherwise, what raises it, and its value of the <c>category</c> metric label. The list is
/// <see cref="AlertCategories.All"/>; docs/alerts.md's category table mirrors it (a test compares them).
/// </summary>
/// <param name="Name">The wire name: stable, since dashboards, suppression rules and runbooks key on it.</param>
/// <param name="DefaultSeverity">
/// The severity raised when neither the item (<c>SeverityPolicy</c>: a shell, a credential file, a public address) nor the
/// size of the score (a ratio or z-score far past its threshold) calls for another; the asset's criticality label
/// shifts it like any other.
/// </param>
/// <param name="Technique">
/// The technique every alert of the category carries unless <see cref="MitreMapping"/> has a finer rule for the
/// observed item (a miner, a shell, <c>/etc/shadow</c>); null where the category alone says nothing about intent.
/// </param>
/// <param name="Description">What raises it, in one line.</param>
public sealed record AlertCategory(string Name, Severity DefaultSeverity, MitreTechnique? Technique, string Description)
{
    /// <summary>
    /// The value of the <c>category</c> label on <c>sentinel_alerts_total</c> and <c>sentinel_incidents_total</c>: the wire
    /// name, so a dashboard's query and an alert's JSON name the same thing; its own member so that the catalogue, not
    /// whatever string an alert happens to carry, decides the label's values (bounded, Prometheus-safe).
    /// </summary>
    public string MetricLabel => Name;
}
