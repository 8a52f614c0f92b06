// The realtime client's connection status, for the badge and the transport control.
import { create } from "zustand";
import type { ConnectionStatus, TransportMode } from "../realtime/types";

interface ConnectionState {
  status: ConnectionStatus | null;
  mode: TransportMode;
  setStatus(status: ConnectionStatus): void;
  setMode(mode: TransportMode): void;
}

export const useConnection = create<ConnectionState>()((set) => ({
  status: null,
  mode: "auto",
  setStatus: (status) => set({ status }),
  setMode: (mode) => set({ mode }),
}));
