using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.State;

/// <summary>
/// A primary of a real Redis Cluster lost before its replica received the settlement ledger's last writes (replicas
/// frozen, the primary killed, its replica promoted without it): with the ledger waiting for a replica (the default),
/// the settle that only the primary recorded was refused before it was sent, so the authorization is settled once; with
/// the wait turned off, the failover forgets the settlement and a repeat reaches the upstream again, as README says.
/// </summary>
public sealed class RedisClusterFailoverTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public async Task Settle_PrimaryLostBeforeItsReplicaHadTheClaim_SettledOnceOnlyWhenTheLedgerWaitsForAReplica(int settlementReplicas)
    {
        await using var cluster = await RedisCluster.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = cluster.GatewaySettings(("only", upstream.Url));
        settings["Redis:SettlementReplicas"] = settlementReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var pairs = new List<(RedisServer Primary, RedisServer Replica)>();
        foreach (var primary in await cluster.PrimariesAsync())
        {
            pairs.Add((primary, await cluster.ReplicaOfAsync(primary)));
        }

        var payment = PaymentSigner.ValidNow(2, seed: 481);
        foreach (var (_, replica) in pairs)
        {
            await replica.PauseAsync();
        }

        using (var first = await a.PostAsync("/settle", payment))
        {
            if (settlementReplicas > 0)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
                Assert.Equal(0, upstream.CountOf("/settle"));
            }
            else
            {
                Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
                Assert.Equal(1, upstream.CountOf("/settle"));
            }
        }

        // The primary holding the settlement is lost with what only it had; its replica takes over without it.
        var pattern = settings["Redis:KeyPrefix"] + "{settle:*";
        (RedisServer Primary, RedisServer Replica)? found = null;
        foreach (var pair in pairs)
        {
            if ((await RedisCluster.KeysOnAsync(pair.Primary, pattern)).Count > 0)
            {
                found = pair;
            }
        }

        var holder = found ?? throw new Xunit.Sdk.XunitException("No primary holds the settlement.");
        await holder.Primary.StopAsync();
        foreach (var (_, replica) in pairs)
        {
            await replica.ResumeAsync();
        }

        await cluster.TakeOverAsync(holder.Replica);
        await cluster.WaitUntilSettledAsync();

        // A frozen replica still finds, when it runs again, what the primary had put in its socket before dying; a replica
        // whose link was gone would not have it. What the test's instances wrote since the freeze is removed to say so.
        foreach (var key in await RedisCluster.KeysOnAsync(holder.Replica, settings["Redis:KeyPrefix"] + "*"))
        {
            await holder.Replica.CommandAsync("DEL", key);
        }

        Assert.Empty(await RedisCluster.KeysOnAsync(holder.Replica, pattern));

        await Eventually.TrueAsync(
            async () =>
            {
                using var repeat = await b.PostAsync("/settle", payment);
                return repeat.StatusCode == HttpStatusCode.OK && await repeat.Content.ReadAsStringAsync() == Settled;
            },
            "the repeat is answered once the instances know the new primary",
            30_000);

        // Waiting for a replica: sent once, after the failover. Not waiting: the failover forgot a settlement already sent.
        Assert.Equal(settlementReplicas > 0 ? 1 : 2, upstream.CountOf("/settle"));
    }
}
