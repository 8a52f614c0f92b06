import { OpsDashboard } from "@/components/ops/ops-dashboard";

/** /ops: the live charts of this server instance (signed-in people only, as every page). */
export default function OpsPage() {
  return <OpsDashboard />;
}
