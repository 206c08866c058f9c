# One votecluster region: dcrd hosts (dcrd with its node proxy beside it), voters,
# the admin service and this region's etcd member(s), each role with a security
# group that opens only what it serves. Between regions only TLS-protected ports
# are open: the proxies' gRPC (9110, client certificates) and etcd (2379 clients,
# 2380 peers, client certificates); the wallet JSON-RPC (9122, TLS + password)
# only to vspd; plaintext metrics only to this region's Prometheus.
# Instances come up from an image with Node 20, votecluster, etcd and dcrd
# installed (see the README); cloud-init writes each etcd member's bootstrap and
# enables the services. Certificates, the cluster key and passwords are delivered
# as files by you (docs/operations.md), never through user data.

data "aws_subnet" "this" {
  id = var.region.subnet_id
}

locals {
  tags     = merge(var.tags, { "votecluster:region" = var.region.name })
  etcd_ids = [for i in range(var.etcd_members) : "etcd-${var.region.name}${i + 1 + var.etcd_member_offset}"]
  # Private DNS names (without the domain) of the hosts others dial: proxies, admins, etcd members.
  proxy_names = [for i in range(var.proxies) : "proxy-${var.region.name}${i + 1}"]
  admin_names = [for i in range(var.admins) : "admin-${var.region.name}${i + 1}"]
  host_ips = merge(
    { for i, n in local.proxy_names : n => aws_instance.proxy[i].private_ip },
    { for i, n in local.admin_names : n => aws_instance.admin[i].private_ip },
    { for i, n in local.etcd_ids : n => aws_instance.etcd[i].private_ip },
  )
}

resource "aws_security_group" "proxy" {
  name_prefix = "votecluster-proxy-${var.region.name}-"
  description = "dcrd + node proxy: gRPC NodeProxy (mTLS) from the regions"
  vpc_id      = data.aws_subnet.this.vpc_id
  tags        = local.tags
  ingress {
    description = "gRPC NodeProxy (TLS, client certificates)"
    from_port   = 9110
    to_port     = 9110
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }
  ingress {
    description = "metrics (plaintext): this region's Prometheus"
    from_port   = 9465
    to_port     = 9465
    protocol    = "tcp"
    cidr_blocks = var.monitoring_cidrs
  }
  egress {
    description = "dcrd peers and the other regions"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "voter" {
  name_prefix = "votecluster-voter-${var.region.name}-"
  description = "voters: metrics to Prometheus only; they only dial out"
  vpc_id      = data.aws_subnet.this.vpc_id
  tags        = local.tags
  ingress {
    description = "metrics (plaintext): this region's Prometheus"
    from_port   = 9464
    to_port     = 9464
    protocol    = "tcp"
    cidr_blocks = var.monitoring_cidrs
  }
  egress {
    description = "proxies and etcd of every region"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "admin" {
  name_prefix = "votecluster-admin-${var.region.name}-"
  description = "admin: wallet JSON-RPC (TLS + password) to vspd"
  vpc_id      = data.aws_subnet.this.vpc_id
  tags        = local.tags
  ingress {
    description = "wallet JSON-RPC for vspd (TLS, HTTP Basic)"
    from_port   = 9122
    to_port     = 9122
    protocol    = "tcp"
    cidr_blocks = var.vspd_cidrs
  }
  ingress {
    description = "metrics (plaintext): this region's Prometheus"
    from_port   = 9466
    to_port     = 9466
    protocol    = "tcp"
    cidr_blocks = var.monitoring_cidrs
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "etcd" {
  name_prefix = "votecluster-etcd-${var.region.name}-"
  description = "etcd: clients and peers (TLS, client certificates) from the regions"
  vpc_id      = data.aws_subnet.this.vpc_id
  tags        = local.tags
  ingress {
    description = "etcd clients and peers (TLS, client certificates)"
    from_port   = 2379
    to_port     = 2380
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "proxy" {
  count                  = var.proxies
  ami                    = var.region.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.region.subnet_id
  vpc_security_group_ids = [aws_security_group.proxy.id]
  root_block_device {
    volume_type = "gp3"
    volume_size = 100 # dcrd's chain
  }
  metadata_options {
    http_tokens = "required"
  }
  user_data = "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, dcrd.service, votecluster-proxy.service]\n"
  tags = merge(local.tags, {
    Name               = "votecluster-proxy-${var.region.name}${count.index + 1}"
    "votecluster:role" = "dcrd+proxy"
  })
}

resource "aws_instance" "voter" {
  count                  = var.voters
  ami                    = var.region.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.region.subnet_id
  vpc_security_group_ids = [aws_security_group.voter.id]
  metadata_options {
    http_tokens = "required"
  }
  user_data = "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, votecluster-voter.service]\n"
  tags = merge(local.tags, {
    Name               = "votecluster-voter-${var.region.name}${count.index + 1}"
    "votecluster:role" = "voter"
  })
}

resource "aws_instance" "admin" {
  count                  = var.admins
  ami                    = var.region.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.region.subnet_id
  vpc_security_group_ids = [aws_security_group.admin.id]
  metadata_options {
    http_tokens = "required"
  }
  user_data = "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, votecluster-admin.service]\n"
  tags = merge(local.tags, {
    Name               = "votecluster-admin-${var.region.name}${count.index + 1}"
    "votecluster:role" = "admin"
  })
}

# etcd bootstrap: each member's drop-in (deploy/systemd/etcd.service.d/votecluster.conf)
# with its own name and URLs and the cluster-wide initial member list. After all
# members are up, run `votecluster etcd init` once (docs/operations.md#etcd).
resource "aws_instance" "etcd" {
  count                  = var.etcd_members
  ami                    = var.region.ami_id
  instance_type          = var.etcd_instance_type
  subnet_id              = var.region.subnet_id
  vpc_security_group_ids = [aws_security_group.etcd.id]
  root_block_device {
    volume_type = "gp3"
    volume_size = 20
    iops        = 3000
  }
  metadata_options {
    http_tokens = "required"
  }
  user_data = <<-EOT
    #cloud-config
    write_files:
      - path: /etc/systemd/system/etcd.service.d/member.conf
        permissions: "0644"
        content: |
          [Service]
          Environment=ETCD_NAME=${local.etcd_ids[count.index]}
          Environment=ETCD_LISTEN_CLIENT_URLS=https://0.0.0.0:2379
          Environment=ETCD_ADVERTISE_CLIENT_URLS=https://${local.etcd_ids[count.index]}.${var.domain}:2379
          Environment=ETCD_LISTEN_PEER_URLS=https://0.0.0.0:2380
          Environment=ETCD_INITIAL_ADVERTISE_PEER_URLS=https://${local.etcd_ids[count.index]}.${var.domain}:2380
          Environment=ETCD_INITIAL_CLUSTER=${var.etcd_initial_cluster}
          Environment=ETCD_INITIAL_CLUSTER_STATE=new
          Environment=ETCD_INITIAL_CLUSTER_TOKEN=votecluster-${var.domain}
          Environment=ETCD_CERT_FILE=/etc/etcd/tls/${local.etcd_ids[count.index]}.crt
          Environment=ETCD_KEY_FILE=/etc/etcd/tls/${local.etcd_ids[count.index]}.key
          Environment=ETCD_PEER_CERT_FILE=/etc/etcd/tls/${local.etcd_ids[count.index]}.crt
          Environment=ETCD_PEER_KEY_FILE=/etc/etcd/tls/${local.etcd_ids[count.index]}.key
    runcmd:
      - [systemctl, daemon-reload]
      - [systemctl, enable, --now, etcd.service]
  EOT
  tags = merge(local.tags, {
    Name               = local.etcd_ids[count.index]
    "votecluster:role" = "etcd"
  })
}

# One A record per host others dial, keyed by its name: <name>.<domain>.
resource "aws_route53_record" "host" {
  for_each = local.host_ips
  zone_id  = var.private_zone_id
  name     = "${each.key}.${var.domain}"
  type     = "A"
  ttl      = 60
  records  = [each.value]
}
