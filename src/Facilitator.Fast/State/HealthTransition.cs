namespace Facilitator.Fast.State;

/// <summary>What recording an outcome did to an upstream's health.</summary>
public enum HealthTransition : byte
{
    None = 0,
    BecameUnhealthy,
    BecameHealthy,
}
