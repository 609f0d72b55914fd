// Tool-use tasks: the tools the agent may call (OpenAI function definitions), the simulated backend the calls act
// on where there is one (a small shop: customers, products, orders) and the final check (the backend state a successful episode
// leaves, and the facts the final reply to the user must carry).
import { z } from 'zod';
import { TaskBase } from './common';

/** A JSON Schema (the subset tool parameters use; other keywords are kept as they are). */
export const JsonSchema = z.looseObject({
  type: z.union([z.string(), z.array(z.string())]).optional(),
  description: z.string().optional(),
  get properties() {
    return z.record(z.string(), JsonSchema).optional();
  },
  required: z.array(z.string()).optional(),
  get items() {
    return JsonSchema.optional();
  },
  /** An array whose order carries no meaning: compared as a multiset. */
  uniqueItems: z.boolean().optional(),
  enum: z.array(z.unknown()).optional(),
});
export type JsonSchema = z.infer<typeof JsonSchema>;

/** A function name as the OpenAI API allows it. */
export const ToolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'at most 64 letters, digits, underscores and dashes');

/** A tool offered to the agent, in the OpenAI `tools` shape. */
export const ToolDefinition = z.object({
  type: z.literal('function').default('function'),
  function: z.object({
    name: ToolName,
    description: z.string().default(''),
    parameters: JsonSchema,
  }),
});
export type ToolDefinition = z.infer<typeof ToolDefinition>;

// ---- the shop backend's state

export const Address = z.object({ street: z.string().min(1), city: z.string().min(1), zip: z.string().min(1) });
export type Address = z.infer<typeof Address>;

export const Customer = z.object({ id: z.string().min(1), name: z.string().min(1), email: z.string().min(1), address: Address });
export type Customer = z.infer<typeof Customer>;

export const Product = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  price: z.number().nonnegative(),
  stock: z.number().int().nonnegative(),
});
export type Product = z.infer<typeof Product>;

export const OrderItem = z.object({
  product_id: z.string().min(1),
  name: z.string().min(1),
  qty: z.number().int().positive(),
  price: z.number().nonnegative(),
  /** Units of this line refunded so far. */
  refunded: z.number().int().nonnegative().default(0),
});
export type OrderItem = z.infer<typeof OrderItem>;

export const OrderStatus = z.enum(['pending', 'shipped', 'delivered', 'cancelled']);
export type OrderStatus = z.infer<typeof OrderStatus>;

export const Order = z.object({
  id: z.string().min(1),
  customer_id: z.string().min(1),
  status: OrderStatus,
  items: z.array(OrderItem).min(1),
  address: Address,
  /** Free text (e.g. the reason of a cancellation): compared by word overlap, not letter for letter. */
  note: z.string().default(''),
});
export type Order = z.infer<typeof Order>;

export const ShopState = z.object({ customers: z.array(Customer), products: z.array(Product), orders: z.array(Order) });
export type ShopState = z.infer<typeof ShopState>;

/** The simulated backend of a task and its initial state (one kind today; a new simulator adds a kind). */
export const ShopBackend = z.object({ kind: z.literal('shop'), state: ShopState });
export type ShopBackend = z.infer<typeof ShopBackend>;

export const ToolCheck = z.object({
  /** The backend state a successful episode leaves (free-text fields compared by word overlap); null without a backend. */
  state: ShopState.nullable().default(null),
  /** Facts (ids, amounts, statuses) the final reply to the user must contain, as words or numbers. */
  facts: z.array(z.string().min(1)).default([]),
});
export type ToolCheck = z.infer<typeof ToolCheck>;

export const ToolTask = TaskBase.extend({
  /** The tools offered (none: a conversation imported without tools, whose turns are replies to the user). */
  tools: z.array(ToolDefinition),
  /**
   * The simulated backend, or null for tool-use data that comes without one: then calls are judged on tool names
   * and arguments only, and evaluation episodes cannot run the calls (the final check sees the reply alone).
   */
  backend: ShopBackend.nullable().default(null),
  check: ToolCheck.default({ state: null, facts: [] }),
}).refine((t) => (t.backend === null) === (t.check.state === null), {
  message: 'check.state (the expected backend state) is given exactly when the task has a backend',
  path: ['check', 'state'],
});
export type ToolTask = z.infer<typeof ToolTask>;
