// SPDX-License-Identifier: MIT
// Synthetic test contracts for heisttrace's adapter contract suite (played out on anvil).
pragma solidity ^0.8.20;

/// A plain ERC-20 token with a fixed supply minted to the deployer.
contract TestToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// An address-poisoning token: bytes32 symbol copying a real one, no decimals(), and a
/// function that emits Transfer events between any two parties without moving balances.
contract SpoofToken {
    bytes32 public constant symbol = "TST";
    bytes32 public constant name = "Test Token";

    event Transfer(address indexed from, address indexed to, uint256 value);

    function spoof(address from, address[] calldata to, uint256 value) external {
        for (uint256 i = 0; i < to.length; i++) {
            emit Transfer(from, to[i], value);
        }
    }
}

/// Holds ETH and gives it all to one address when destroyed (SELFDESTRUCT moves the balance).
contract Vault {
    address public owner;

    constructor(address owner_) payable {
        owner = owner_;
    }

    receive() external payable {}

    function destroy(address payable to) external {
        require(msg.sender == owner, "owner");
        selfdestruct(to);
    }
}

/// Splits ETH over many receivers by internal calls; can forward through a second hop and spawn vaults.
contract FanOut {
    event Spawned(address vault);

    function fanOut(address payable[] calldata to, uint256[] calldata amounts) external payable {
        require(to.length == amounts.length, "length");
        for (uint256 i = 0; i < to.length; i++) {
            (bool ok, ) = to[i].call{value: amounts[i]}("");
            require(ok, "send");
        }
    }

    /// Sends `msg.value` through another FanOut (a nested internal call) to `to`.
    function relay(FanOut next, address payable to) external payable {
        address payable[] memory receivers = new address payable[](1);
        receivers[0] = to;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = msg.value;
        next.fanOutMemory{value: msg.value}(receivers, amounts);
    }

    function fanOutMemory(address payable[] memory to, uint256[] memory amounts) public payable {
        for (uint256 i = 0; i < to.length; i++) {
            (bool ok, ) = to[i].call{value: amounts[i]}("");
            require(ok, "send");
        }
    }

    /// Creates a Vault holding `msg.value` (an internal CREATE that moves value).
    function spawn(address owner) external payable returns (address) {
        Vault vault = new Vault{value: msg.value}(owner);
        emit Spawned(address(vault));
        return address(vault);
    }

    /// Always reverts after trying to pay out: the transaction moves no value.
    function failing(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "send");
        revert("always fails");
    }
}
