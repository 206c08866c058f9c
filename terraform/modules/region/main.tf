# One votecluster region: node proxies, voters and this region's etcd
# member(s), with a security group that opens only what votecluster uses.
# Instances are configured by cloud-init from the image; the systemd units in
# deploy/systemd are the intended service definitions.

data "aws_subnet" "this" {
  id = var.region.subnet_id
}

resource "aws_security_group" "votecluster" {
  name_prefix = "votecluster-${var.region.name}-"
  description = "votecluster region ${var.region.name}"
  vpc_id      = data.aws_subnet.this.vpc_id
  tags        = merge(var.tags, { "votecluster:region" = var.region.name })

  ingress {
    description = "gRPC NodeProxy"
    from_port   = 9110
    to_port     = 9110
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }
  ingress {
    description = "etcd client and peer"
    from_port   = 2379
    to_port     = 2380
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }
  ingress {
    description = "Prometheus /metrics"
    from_port   = 9464
    to_port     = 9466
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
  vpc_security_group_ids = [aws_security_group.votecluster.id]
  user_data              = "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, votecluster-proxy.service]\n"
  tags = merge(var.tags, {
    Name                 = "votecluster-proxy-${var.region.name}${count.index + 1}"
    "votecluster:region" = var.region.name
    "votecluster:role"   = "proxy"
  })
}

resource "aws_instance" "voter" {
  count                  = var.voters
  ami                    = var.region.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.region.subnet_id
  vpc_security_group_ids = [aws_security_group.votecluster.id]
  user_data              = "#cloud-config\nruncmd:\n  - [systemctl, enable, --now, votecluster-voter.service]\n"
  tags = merge(var.tags, {
    Name                 = "votecluster-voter-${var.region.name}${count.index + 1}"
    "votecluster:region" = var.region.name
    "votecluster:role"   = "voter"
  })
}

resource "aws_instance" "etcd" {
  count                  = var.etcd_members
  ami                    = var.region.ami_id
  instance_type          = var.etcd_instance_type
  subnet_id              = var.region.subnet_id
  vpc_security_group_ids = [aws_security_group.votecluster.id]
  root_block_device {
    volume_type = "gp3"
    volume_size = 20
  }
  tags = merge(var.tags, {
    Name                 = "votecluster-etcd-${var.region.name}${count.index + 1}"
    "votecluster:region" = var.region.name
    "votecluster:role"   = "etcd"
  })
}
