// The mini-program's types, transcribed from the club's specification
// (backend-spec.zh.md, "TypeScript 数据类型定义" and "API 接口规范"). The
// contract check (check.ts) assigns the types generated from the served
// OpenAPI document to these: a mini-program written against the
// specification compiles against the generated client.

export interface TenantConfig {
  id: string;
  name: string;
  logo?: string;
  theme: { primary: string; accent: string; bg: string; text: string; muted: string };
  contact?: { phone?: string; address?: string; email?: string };
  features: { enableCalendar: boolean; enableMembership: boolean; enableCoupon: boolean };
}

export interface User {
  id: string;
  openid: string;
  unionid?: string;
  nickname?: string;
  avatar?: string;
  phone?: string;
  realName?: string;
  gender?: 0 | 1 | 2;
  city?: string;
  province?: string;
  country?: string;
  status: "active" | "disabled";
  createdAt: string;
  updatedAt: string;
}

export interface Event {
  id: string;
  tenantId: string;
  title: string;
  description?: string;
  poster?: string;
  city: string;
  venue: string;
  address: string;
  eventDate: string;
  eventTime: string;
  duration: number;
  totalSeats: number;
  remainingSeats: number;
  performers: string[];
  tags: string[];
  status: "upcoming" | "onSale" | "soldOut" | "cancelled";
  priceOptions: PriceOption[];
  createdAt: string;
  updatedAt: string;
}

export interface PriceOption {
  id: string;
  eventId: string;
  name: string;
  price: number;
  originalPrice?: number;
  description?: string;
  totalCount: number;
  remainingCount: number;
  sortOrder: number;
  status: "active" | "disabled";
}

export interface Order {
  id: string;
  tenantId: string;
  userId: string;
  eventId: string;
  priceOptionId: string;
  quantity: number;
  totalAmount: number;
  userName: string;
  userPhone: string;
  status: "pending" | "paid" | "cancelled" | "refunded" | "used";
  payMethod?: string;
  transactionId?: string;
  paidAt?: string;
  cancelledAt?: string;
  refundedAt?: string;
  tickets: Ticket[];
  event?: Event;
  priceOption?: PriceOption;
  createdAt: string;
  updatedAt: string;
}

export interface Ticket {
  id: string;
  orderId: string;
  seatNo?: string;
  qrCode: string;
  status: "valid" | "used" | "expired";
  usedAt?: string;
  createdAt: string;
}

export interface ApiResponse<T = any> {
  code: number;
  message: string;
  data?: T;
  timestamp: number;
}

export interface PaginatedResponse<T> {
  code: number;
  message: string;
  data: {
    items: T[];
    total: number;
    page: number;
    pageSize: number;
    totalPages: number;
  };
  timestamp: number;
}

// The answers the specification spells out beside the types.
export interface LoginData {
  token: string;
  user: User;
  expiresIn: number;
}

export interface HomeData {
  banners: unknown[];
  upcoming: Event[];
  recommended: Event[];
  upcomingSale: Event[];
  merch: unknown[];
}

export type CalendarData = { [date: string]: Event[] };

export interface PaymentParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: "RSA";
  paySign: string;
}

export interface PeriodFigures {
  events: number;
  orders: number;
  revenue: number;
  users: number;
}

export interface Stats {
  totalEvents: number;
  totalOrders: number;
  totalRevenue: number;
  totalUsers: number;
  thisMonth?: PeriodFigures;
}
