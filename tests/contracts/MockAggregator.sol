// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A SYNTHETIC Chainlink-style price feed for tests: the owner appends rounds with an explicit
/// updatedAt; it answers latestRoundData/getRoundData/decimals like AggregatorV3Interface.
contract MockAggregator {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    uint8 public decimals;
    string public description;
    uint80 public latestRound;
    mapping(uint80 => Round) private rounds;

    constructor(uint8 decimals_, string memory description_) {
        decimals = decimals_;
        description = description_;
    }

    function pushRound(int256 answer, uint256 updatedAt) external {
        latestRound += 1;
        rounds[latestRound] = Round(answer, updatedAt, updatedAt);
    }

    function getRoundData(uint80 roundId)
        public
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = rounds[roundId];
        require(r.updatedAt > 0, "No data present");
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(latestRound);
    }
}
