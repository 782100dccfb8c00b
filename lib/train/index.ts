// Re-exports of lib/train (the one training loop and its stages; filled in from chapter 5).
export {};
