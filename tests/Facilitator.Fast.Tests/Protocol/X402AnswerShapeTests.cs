using System.Text;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Tests.Protocol;

public sealed class X402AnswerShapeTests
{
    [Theory]
    [InlineData(FacilitatorOperation.Verify, true, """{"isValid":false,"invalidReason":"x"}""", true)]
    [InlineData(FacilitatorOperation.Verify, true, """{"isValid":"false"}""", false)]
    [InlineData(FacilitatorOperation.Verify, true, """{"valid":true}""", false)]
    [InlineData(FacilitatorOperation.Verify, false, """{"error":"bad"}""", true)]
    [InlineData(FacilitatorOperation.Settle, true, """{"success":true,"transaction":"0x1","network":"base"}""", true)]
    [InlineData(FacilitatorOperation.Settle, true, """{"isValid":true}""", false)]
    [InlineData(FacilitatorOperation.Supported, true, """{"kinds":[]}""", true)]
    [InlineData(FacilitatorOperation.Supported, true, """{"kinds":{}}""", false)]
    [InlineData(FacilitatorOperation.Discovery, true, """{"items":[]}""", true)]
    [InlineData(FacilitatorOperation.Verify, true, "<html></html>", false)]
    [InlineData(FacilitatorOperation.Verify, true, "", false)]
    [InlineData(FacilitatorOperation.Verify, true, """[{"isValid":true}]""", false)]
    [InlineData(FacilitatorOperation.Verify, true, """{"isValid":true} {}""", false)]
    public void IsAnswer_Body_Classified(FacilitatorOperation operation, bool success, string body, bool expected)
    {
        Assert.Equal(expected, X402AnswerShape.IsAnswer(operation, success, Encoding.UTF8.GetBytes(body)));
    }
}
