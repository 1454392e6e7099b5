// Each generated answer type is assignable to the specification's type:
// `tsc --strict` fails on any field the document types differently.
import type { paths } from "./api";
import type * as Spec from "./spec";

type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: infer R };
}
  ? Json<R>
  : never;
type Params<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  parameters: infer Q;
}
  ? Q
  : never;

declare function answer<T>(): T;
const assign = <Want>(got: Want): Want => got;

// The mini-program's routes.
assign<Spec.ApiResponse<Spec.TenantConfig>>(answer<Ok<"/api/tenants/{tenantId}", "get">>());
assign<Spec.ApiResponse<Spec.LoginData>>(answer<Ok<"/api/auth/wechat/login", "post">>());
assign<Spec.ApiResponse<Spec.User>>(answer<Ok<"/api/users/me", "get">>());
assign<Spec.ApiResponse<Spec.User>>(answer<Ok<"/api/users/profile", "put">>());
assign<Spec.ApiResponse<Spec.User>>(answer<Ok<"/api/users/phone", "post">>());
assign<Spec.ApiResponse<Spec.HomeData>>(answer<Ok<"/api/events/home", "get">>());
assign<Spec.ApiResponse<Spec.CalendarData>>(answer<Ok<"/api/events/calendar/{year}/{month}", "get">>());
assign<Spec.ApiResponse<Spec.Event>>(answer<Ok<"/api/events/{eventId}", "get">>());
assign<Spec.PaginatedResponse<Spec.Event>>(answer<Ok<"/api/events", "get">>());
assign<Spec.ApiResponse<Spec.Order>>(answer<Ok<"/api/orders", "post">>());
assign<Spec.PaginatedResponse<Spec.Order>>(answer<Ok<"/api/orders", "get">>());
assign<Spec.ApiResponse<Spec.Order>>(answer<Ok<"/api/orders/{orderId}", "get">>());
assign<Spec.ApiResponse<Spec.Order>>(answer<Ok<"/api/orders/{orderId}/cancel", "put">>());
assign<Spec.ApiResponse<Spec.PaymentParams>>(answer<Ok<"/api/payments/wechat", "post">>());
assign<Spec.ApiResponse<Spec.Order>>(answer<Ok<"/api/payments/refund", "post">>());

// The pieces, one by one (a mismatch names its type).
type Data<T> = T extends { data?: infer D } ? D : never;
type EventT = Data<Ok<"/api/events/{eventId}", "get">>;
assign<Spec.Event>(answer<EventT>());
assign<Spec.PriceOption>(answer<EventT["priceOptions"][number]>());
type OrderT = Data<Ok<"/api/orders/{orderId}", "get">>;
assign<Spec.Order>(answer<OrderT>());
assign<Spec.Ticket>(answer<OrderT["tickets"][number]>());
assign<Spec.User>(answer<Data<Ok<"/api/users/me", "get">>>());
assign<Spec.TenantConfig>(answer<Data<Ok<"/api/tenants/{tenantId}", "get">>>());

// The console's stats: the period block the specification promises.
assign<Spec.ApiResponse<Spec.Stats>>(answer<Ok<"/api/admin/stats", "get">>());
const stats = answer<Data<Ok<"/api/admin/stats", "get">>>();
const month: number | undefined = stats.thisMonth?.revenue;

// The list's query is typed as the specification writes it.
const query: Params<"/api/events", "get"> = {
  query: { tenantId: "demo", page: 1, pageSize: 10, status: "onSale", date: "2024-12-25" },
};

export { month, query };
