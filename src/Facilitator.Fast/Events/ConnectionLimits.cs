namespace Facilitator.Fast.Events;

/// <summary>
/// The connections this instance holds, in all and per client address: one more is admitted only within both limits,
/// checked before the upgrade so a refused client costs one HTTP answer.
/// </summary>
internal sealed class ConnectionLimits(EventsOptions options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _perClient = new(StringComparer.Ordinal);
    private int _total;

    public int Total => Volatile.Read(ref _total);

    /// <summary>Takes a place for a connection from <paramref name="clientKey"/>; false (and nothing taken) when a limit is reached.</summary>
    public bool TryAcquire(string clientKey)
    {
        lock (_gate)
        {
            if (_total >= options.MaxConnections)
            {
                return false;
            }

            var mine = _perClient.GetValueOrDefault(clientKey);
            if (options.MaxConnectionsPerClient > 0 && mine >= options.MaxConnectionsPerClient)
            {
                return false;
            }

            _perClient[clientKey] = mine + 1;
            _total++;
            return true;
        }
    }

    public void Release(string clientKey)
    {
        lock (_gate)
        {
            if (_perClient.TryGetValue(clientKey, out var mine))
            {
                if (mine <= 1)
                {
                    _perClient.Remove(clientKey);
                }
                else
                {
                    _perClient[clientKey] = mine - 1;
                }

                _total--;
            }
        }
    }
}
