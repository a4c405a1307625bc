using System.Globalization;
using System.Text;

namespace Facilitator.Fast.Load;

/// <summary>
/// What the chaos run did when (seconds since the load started): every fault injected and every recovery observed,
/// the windows during which Redis was down for the fleet (from the fault until both instances report it reachable
/// again), and the phases the figures are split by.
/// </summary>
internal sealed class ChaosTimeline
{
    private readonly List<(double At, string What)> _entries = [];
    private readonly List<(double From, double To)> _redisDown = [];
    private readonly List<(double From, string Name)> _phases = [(0, "steady")];
    private double? _redisDownSince;

    public IReadOnlyList<(double From, double To)> RedisDown => _redisDown;

    public IReadOnlyList<(double From, string Name)> Phases => _phases;

    public void Note(double at, string what)
    {
        lock (_entries)
        {
            _entries.Add((at, what));
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[chaos {at,6:F2} s] {what}"));
    }

    /// <summary>A new phase of the figures starts now; its name is its key, used once.</summary>
    public void Phase(double at, string name)
    {
        lock (_phases)
        {
            if (_phases.Any(p => p.Name == name))
            {
                throw new ArgumentException($"The phase '{name}' was named already.", nameof(name));
            }

            _phases.Add((at, name));
        }
    }

    public void RedisWentDown(double at) => _redisDownSince = at;

    public void RedisCameBack(double at)
    {
        _redisDown.Add((_redisDownSince ?? at, at));
        _redisDownSince = null;
    }

    /// <summary>Whether Redis was up for the fleet through all of [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public bool RedisUpThroughout(double from, double to) =>
        !_redisDown.Any(w => from <= w.To && to >= w.From) && !(_redisDownSince is { } since && to >= since);

    /// <summary>Whether [<paramref name="from"/>, <paramref name="to"/>] overlaps a time Redis was down for the fleet.</summary>
    public bool OverlapsRedisDown(double from, double to) => !RedisUpThroughout(from, to);

    public string PhaseOf(double at) => _phases.Last(p => p.From <= at).Name;

    /// <summary>The phase's span: from its start to the next phase's (or <paramref name="end"/>).</summary>
    public (double From, double To) SpanOf(string name, double end)
    {
        var index = _phases.FindIndex(p => p.Name == name);
        return (_phases[index].From, index + 1 < _phases.Count ? _phases[index + 1].From : end);
    }

    public string Markdown()
    {
        var text = new StringBuilder("| t (s) | what happened |\n|---:|---|\n");
        lock (_entries)
        {
            foreach (var (at, what) in _entries.OrderBy(e => e.At))
            {
                text.Append(CultureInfo.InvariantCulture, $"| {at:F2} | {what} |\n");
            }
        }

        return text.ToString();
    }
}
